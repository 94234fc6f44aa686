// XEP-0199: answers pings addressed to the server (clients use them as keepalives).
import { defineModule } from "../../core/module/module.ts";
import { NS } from "../../protocol/ns.ts";

export default defineModule({
  id: "ping",
  setup(ctx) {
    ctx.feature(NS.PING);
    ctx.iq("get", ["host", "self"], NS.PING, "ping", () => null);
  },
});
