// XEP-0199 XMPP Ping, both directions:
//  - the server answers pings addressed to it (and to one's own account): clients' keepalives;
//  - the server pings bound clients that have been silent for limits.pingIntervalSeconds and
//    ends the stream with connection-timeout when neither the answer (result or error, §4.2)
//    nor anything else arrives within limits.pingTimeoutSeconds (dead-peer detection).
import { defineModule } from "../../core/module/module.ts";
import { IqTimeoutError } from "../../core/router/router.ts";
import type { Session } from "../../core/session/session.ts";
import { x } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { pingDecision } from "./liveness.ts";
import { sweepInSlices } from "../../core/sweep.ts";

export default defineModule({
  id: "ping",
  setup(ctx) {
    ctx.feature(NS.PING);
    ctx.iq("get", ["host", "self"], NS.PING, "ping", () => null);

    const intervalMs = ctx.config.limits.pingIntervalSeconds * 1000;
    const timeoutMs = ctx.config.limits.pingTimeoutSeconds * 1000;
    if (intervalMs === 0) return;

    /** Sessions with a ping in flight: when it was sent. */
    const inFlight = new WeakMap<Session, number>();

    const ping = (session: Session, now: number): void => {
      inFlight.set(session, now);
      const iq = x("iq", { type: "get", from: ctx.domain, to: session.full }, x("ping", { xmlns: NS.PING }));
      ctx.router.request(iq, timeoutMs).then(
        () => {
          if (inFlight.get(session) === now) inFlight.delete(session);
        },
        (err) => {
          if (inFlight.get(session) !== now) return;
          if (!(err instanceof IqTimeoutError)) {
            inFlight.delete(session);
            return void ctx.log.warn({ err, jid: session.full }, "ping failed");
          }
          check(session, Date.now());
        },
      );
    };

    const check = (session: Session, now: number): void => {
      if (session.closing) return;
      const d = pingDecision({ now, lastReceived: session.lastReceived, pingSentAt: inFlight.get(session), intervalMs, timeoutMs });
      if (d === "ping") ping(session, now);
      else if (d === "drop") {
        inFlight.delete(session);
        ctx.log.info({ jid: session.full, silentMs: now - (session.lastReceived ?? now) }, "XEP-0199: no answer to ping, ending the stream");
        session.close("connection-timeout", `no answer to a ping within ${Math.round(timeoutMs / 1000)} s`);
      } else if (d === "alive") inFlight.delete(session);
    };

    // Checked often enough that small test values work; at the defaults this is every 5 s.
    const sweepMs = Math.max(100, Math.min(5000, Math.floor(Math.min(intervalMs, timeoutMs) / 4)));
    // In slices (core/sweep.ts): sessions that went silent together would otherwise all be
    // pinged (a stanza, a promise and a timer each) in one blocking stretch.
    let unloaded = false;
    ctx.onUnload(() => void (unloaded = true));
    ctx.every(sweepMs, () => {
      const now = Date.now();
      sweepInSlices(ctx.sessions.all(), (session) => check(session, now), () => unloaded);
    });
  },
});
