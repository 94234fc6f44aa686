// XEP-0352 Client State Indication: a client that says <inactive/> gets unimportant traffic
// (presence updates, standalone chat states) held back and coalesced until it says <active/>
// or something important arrives. The queue and the rules are in buffer.ts; this module wires
// them to the stream (feature, nonzas) and to the session (an outbound filter while inactive).
import { defineModule } from "../../core/module/module.ts";
import { SessionEvents, StreamEvents, type NonzaPayload } from "../../core/stream/stream-events.ts";
import type { Session } from "../../core/session/session.ts";
import { x } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { CsiBuffer, DEFAULT_MAX_HELD } from "./buffer.ts";

/** Runs after other outbound filters (e.g. blocking), so only what would be sent is held. */
const FILTER_PRIORITY = -100;

export interface Inactive {
  buffer: CsiBuffer;
  removeFilter: () => void;
  /** True while held stanzas are being written (the filter lets them through). */
  flushing: boolean;
}

/** Puts a session in the inactive state: returns its state (the filter is installed). */
export function makeInactive(session: Session, maxHeld = DEFAULT_MAX_HELD): Inactive {
  const st: Inactive = {
    buffer: new CsiBuffer((stanza) => {
      st.flushing = true;
      try {
        session.send(stanza);
      } finally {
        st.flushing = false;
      }
    }, maxHeld),
    removeFilter: () => {},
    flushing: false,
  };
  st.removeFilter = session.addOutFilter((stanza) => (st.flushing ? stanza : st.buffer.offer(stanza)), FILTER_PRIORITY);
  return st;
}

/** Back to active: the filter goes, then everything held is sent in order. */
export function makeActive(st: Inactive): void {
  st.removeFilter();
  st.buffer.flush();
}

export default defineModule({
  id: "csi",
  setup(ctx) {
    const inactive = new Map<Session, Inactive>();

    ctx.on(StreamEvents.features, (features) => [...features, x("csi", { xmlns: NS.CSI })]);

    ctx.on(StreamEvents.nonza, ({ stream, element }: NonzaPayload) => {
      if (element.attrs.xmlns !== NS.CSI || (element.name !== "active" && element.name !== "inactive")) return false;
      const session = stream.session;
      // Before a resource is bound nothing is delivered, so there is nothing to hold; a stream
      // starts active (§5) and the client repeats its state after binding.
      if (!session || session.closing) return true;
      const st = inactive.get(session);
      if (element.name === "inactive") {
        if (!st) inactive.set(session, makeInactive(session));
      } else if (st) {
        inactive.delete(session);
        makeActive(st);
      }
      return true;
    });

    ctx.on(SessionEvents.closed, ({ session }) => {
      const st = inactive.get(session);
      if (!st) return;
      inactive.delete(session);
      st.removeFilter();
      // Only presence updates and chat states are ever held: stale now, nothing is lost.
      const n = st.buffer.discard();
      if (n > 0) ctx.log.debug({ jid: session.full, dropped: n }, "CSI: held stanzas dropped with the session");
    });

    ctx.onUnload(() => {
      for (const [session, st] of inactive) {
        st.removeFilter();
        if (!session.closing) st.buffer.flush();
      }
      inactive.clear();
    });
  },
});
