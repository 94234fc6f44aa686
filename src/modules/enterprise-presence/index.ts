// Enterprise presence (issue #5). The pure half — availability model, aggregation, privacy
// levels and matrix, custom states, wire format — is re-exported below; the default export is
// the server-side module: the presence engine (per-user inputs, one shared scheduler), its
// store, watchers' levels (roster level, XEP-0191 blocklist, privacy mode, organisation
// domains), Do Not Disturb for IM, custom state and settings IQs, calendar, CSI and caps
// inputs. The presence module does the stanza fan-out. Rules and wire format: docs/presence.md.
export * from "./model.ts";
export * from "./aggregate.ts";
export * from "./privacy.ts";
export * from "./custom-states.ts";
export * from "./wire.ts";
export * from "./card-fields.ts";
export { pickLanguage, pickLabel, normalizeLang } from "./lang.ts";
export { type Clock, systemClock, FakeClock, SECOND, MINUTE, HOUR, DAY } from "./clock.ts";
export { EnterprisePresenceServiceToken } from "./service.ts";
export type { EnterprisePresenceService, PresenceSettings, ClientPresenceResult, LevelResolver } from "./service.ts";

import { defineModule, Priority, type ServiceToken } from "../../core/module/module.ts";
import { StanzaError } from "../../core/errors.ts";
import { StanzaEvents, type StanzaPayload } from "../../core/router/stanza-events.ts";
import { SessionEvents, StreamEvents, type NonzaPayload } from "../../core/stream/stream-events.ts";
import type { Session } from "../../core/session/session.ts";
import { Element, x } from "../../xml/element.ts";
import { parseElement } from "../../xml/parse-element.ts";
import { Jid } from "../../jid/jid.ts";
import { NS } from "../../protocol/ns.ts";
import { AccountEvents, AccountServiceToken } from "../accounts/index.ts";
import { RosterServiceToken } from "../roster/index.ts";
import { BlockingServiceToken } from "../blocking/service.ts";
import { PresenceEvents } from "../presence/service.ts";
import { PepEvents, type PepDeliveryQuery } from "../pep/service.ts";
import { DROP } from "../../core/hooks/hooks.ts";
import { pepNodeVisible, pepPayloadFor } from "./card-fields.ts";
import { CalendarEvents, CalendarServiceToken, type CalendarService } from "../calendar/index.ts";
import { CapsEvents, CapsServiceToken, type CapsService } from "../caps/service.ts";
import { aggregationConfig, type Meeting, type PresenceState } from "./aggregate.ts";
import type { DeviceKind } from "./model.ts";
import { systemClock } from "./clock.ts";
import { pickLanguage } from "./lang.ts";
import { customStateLabel } from "./custom-states.ts";
import { messageDisposition, resolveLevel, cell, type ViewerLevel } from "./privacy.ts";
import { decodePresence, formatDateTime, parseDateTime } from "./wire.ts";
import { PresenceEngine } from "./engine.ts";
import { openEnterprisePresenceStore } from "./store/sql-enterprise-presence-store.ts";
import type { StoredOutOfOffice } from "./store/types.ts";
import { EnterprisePresenceServiceToken, type EnterprisePresenceService, type LevelResolver, type PresenceSettings } from "./service.ts";

const NS_P = NS.PARLEY_PRESENCE;
/** Held messages re-delivered per batch when a user leaves Do Not Disturb. */
const FLUSH_BATCH = 100;

function bool(v: string | undefined, name: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new StanzaError("bad-request", `${name}='${v}' is not a boolean; expected 'true' or 'false'`);
}

export default defineModule({
  id: "enterprise-presence",
  requires: [AccountServiceToken, RosterServiceToken, BlockingServiceToken],
  provides: [EnterprisePresenceServiceToken],
  async setup(ctx) {
    const cfg = ctx.config.presence;
    const store = await openEnterprisePresenceStore(ctx.db);
    const roster = ctx.use(RosterServiceToken);
    const blocking = ctx.use(BlockingServiceToken);
    const sessions = ctx.sessions;
    const hooks = ctx.host.hooks;
    const clock = systemClock;
    const settings: PresenceSettings = Object.freeze({
      languages: cfg.languages,
      customStates: cfg.customStates,
      dndPolicy: cfg.dndPolicy,
      organisationDomains: ctx.config.privacy.organisationDomains,
      allowPrivacyMode: ctx.config.privacy.allowPrivacyMode,
    });
    const maxUntilMs = cfg.maxUntilDays * 86_400_000;
    const aggregation = aggregationConfig({
      inactiveAfterMs: Math.round(cfg.idle.inactiveAfterMinutes * 60_000),
      awayAfterMs: Math.round(cfg.idle.awayAfterMinutes * 60_000),
      busyDndExpiryMs: Math.round(cfg.manualExpiryHours * 3_600_000),
      customStates: cfg.customStates,
      calendarPresence: cfg.calendarPresence,
      devicePresence: cfg.devicePresence,
      meetingDetails: cfg.meetingDetails,
    });

    // Optional collaborators, looked up when used (they need not be loaded).
    const optional = <T>(token: ServiceToken<T>): T | undefined => {
      try {
        return ctx.use(token);
      } catch {
        return undefined;
      }
    };
    const calendar = (): CalendarService | undefined => optional(CalendarServiceToken);
    const capsService = (): CapsService | undefined => optional(CapsServiceToken);

    const engine = new PresenceEngine({
      clock,
      store,
      aggregation,
      calendar: (user) => {
        const items = calendar()?.items(user);
        if (!items || items.length === 0) return undefined;
        return items.map(
          (e): Meeting => ({ subject: e.subject, location: e.location, start: e.start.getTime(), end: e.end.getTime(), freeBusy: e.showAs, allDay: e.allDay }),
        );
      },
      onChanged: (change) => hooks.notify(PresenceEvents.changed, change),
      onError: (err, user) => ctx.log.error({ err, user }, "presence recomputation failed"),
    });
    ctx.onUnload(() => engine.stop());

    // --- levels ------------------------------------------------------------------------------
    const levelResolver = async (owner: string): Promise<LevelResolver> => {
      const items = await roster.items(owner);
      const stored = await engine.storedOf(owner);
      const privacyMode = settings.allowPrivacyMode && stored.privacyMode;
      await blocking.isBlocked(owner, ctx.domain); // loads the blocklist: the checks below answer from memory
      return (watcher: Jid) => {
        const bare = watcher.bareString;
        if (bare === owner) return "self";
        const finish = (blocked: boolean): ViewerLevel => {
          const item = items.get(bare);
          return resolveLevel({
            owner,
            watcher: bare,
            orgDomains: settings.organisationDomains,
            blocked,
            assigned: item?.level,
            inContacts: item !== undefined,
            privacyMode,
          });
        };
        const b = blocking.isBlocked(owner, watcher);
        return b instanceof Promise ? b.then(finish) : finish(b);
      };
    };

    const languageOf = (session: Session | undefined): string => {
      const wanted = session?.presence?.attrs["xml:lang"];
      if (wanted === undefined) return settings.languages[0];
      return pickLanguage(settings.languages, wanted, settings.languages[0]) ?? settings.languages[0];
    };

    // --- the service -----------------------------------------------------------------------------
    /** Device kinds learnt from XEP-0115 (possibly before the session's first presence is applied). */
    const capsKinds = new WeakMap<Session, DeviceKind>();
    /** Users whose leftover held messages (from before a restart) were looked at this login. */
    const heldChecked = new Set<string>();

    const service: EnterprisePresenceService = {
      settings,
      current: (user) => engine.current(user),
      stateOf: (user) => engine.stateOf(user),
      async clientPresence(session, stanza, initial) {
        const decoded = decodePresence(stanza, {
          now: clock.now(),
          customStates: settings.customStates,
          maxUntilMs,
          maxNoteChars: cfg.maxNoteChars,
          initial,
        });
        if (!decoded.ok) return { ok: false, error: decoded.error };
        const show = stanza.getChildText("show")?.trim();
        const capsKind = capsKinds.get(session);
        const changed = await engine.clientPresence(session.bare, session.jid.resource, decoded.value, {
          defaultKind: session.transportKind === "websocket" ? "web" : "desktop",
          freeForChat: show === "chat",
          ...(capsKind !== undefined ? { capsKind } : {}),
        });
        if (!heldChecked.has(session.bare)) {
          // Messages held before the user went offline (or before a restart) wait for them to
          // be online and not on DND.
          heldChecked.add(session.bare);
          if (releasable(engine.current(session.bare)) && (await store.heldCount(session.bare)) > 0) void flush(session.bare);
        }
        return { ok: true, changed };
      },
      resourceGone: (session) => engine.endpointGone(session.bare, session.jid.resource),
      async level(owner, watcher) {
        if (watcher.bareString === owner) return "self";
        return (await levelResolver(owner))(watcher);
      },
      levelResolver,
      freeForChat: (user) => engine.peek(user)?.freeForChat === true,
      languageOf,
    };
    ctx.provide(EnterprisePresenceServiceToken, service);
    ctx.feature(NS_P);

    // --- PEP under the matrix (docs/presence.md, "Contact card and PEP filtering") --------------
    // After the node's access model: the node's row (card-fields.ts PEP_NODE_ROWS) for the
    // watcher's level, and the vCard4 contact card filtered field by field.
    const pepLevel = (q: PepDeliveryQuery): Promise<ViewerLevel> => {
      let jid: Jid;
      try {
        jid = Jid.parse(q.watcherFull ?? q.watcher);
      } catch {
        return Promise.resolve("blocked"); // not a JID: nothing (PEP never asks this)
      }
      return service.level(q.owner, jid);
    };
    ctx.on(PepEvents.mayDeliver, async (allowed, q) => allowed === true && pepNodeVisible(q.node, await pepLevel(q)));
    ctx.on(PepEvents.payloadFor, async (payload, q) => pepPayloadFor(q.node, payload, await pepLevel(q)) ?? DROP);

    // --- records of online users ----------------------------------------------------------------
    ctx.on(SessionEvents.bound, (session: Session) => {
      void engine.retain(session.bare).catch((err) => ctx.log.error({ err, user: session.bare }, "loading presence failed"));
    });
    ctx.on(
      SessionEvents.closed,
      ({ session }) => {
        if (sessions.hasResources(session.bare)) return;
        heldChecked.delete(session.bare);
        engine.release(session.bare);
      },
      Priority.Late,
    );
    ctx.on(AccountEvents.removed, async ({ bare }) => {
      await store.removeOwner(bare);
    });

    // --- inputs besides presence: CSI (mobile in the background), caps (mobile devices), calendar
    ctx.on(
      StreamEvents.nonza,
      ({ stream, element }: NonzaPayload) => {
        if (element.attrs.xmlns !== NS.CSI) return false;
        const s = stream.session;
        if (s && !s.closing && (element.name === "inactive" || element.name === "active")) {
          void engine
            .background(s.bare, s.jid.resource, element.name === "inactive" ? clock.now() : undefined)
            .catch((err) => ctx.log.error({ err, user: s.bare }, "presence recomputation failed"));
        }
        return false; // observed only: the CSI module handles it
      },
      Priority.Early,
    );
    ctx.on(CapsEvents.known, async ({ session }) => {
      const ids = capsService()?.identities(session.jid);
      if (!ids) return;
      const mobile = ids.some((i) => i.category === "client" && (i.type === "phone" || i.type === "handheld"));
      if (mobile) capsKinds.set(session, "mobile");
      else capsKinds.delete(session);
      await engine.capsKind(session.bare, session.jid.resource, mobile ? "mobile" : undefined);
    });
    const calendarMoved = async ({ user }: { user: string }) => {
      await engine.recompute(user);
    };
    ctx.on(CalendarEvents.changed, calendarMoved);
    ctx.on(CalendarEvents.updated, calendarMoved);

    // --- IQs --------------------------------------------------------------------------------------
    // The custom states, labelled in the requester's language (the IQ's xml:lang, else the
    // language of its presence, else the first configured language).
    ctx.iq("get", ["host", "self"], NS_P, "states", (p, el) => {
      const wanted = el.attrs["xml:lang"] ?? p.stanza.attrs["xml:lang"] ?? languageOf(p.origin);
      const out = x("states", { xmlns: NS_P, max: String(cfg.maxCustomStates) });
      for (const s of settings.customStates) {
        const lang = pickLanguage(Object.keys(s.labels), wanted, settings.languages[0]);
        out.append(x("state", { id: s.id, class: s.availability, ...(lang !== undefined ? { "xml:lang": lang } : {}) }, customStateLabel(s, wanted)));
      }
      return out;
    });

    const settingsElement = async (user: string): Promise<Element> => {
      const st = await engine.storedOf(user);
      const el = x("settings", {
        xmlns: NS_P,
        "privacy-mode": String(settings.allowPrivacyMode && st.privacyMode),
        "privacy-mode-allowed": String(settings.allowPrivacyMode),
      });
      if (st.ooo) {
        const attrs: Record<string, string> = {};
        if (st.ooo.start !== undefined) attrs.start = formatDateTime(st.ooo.start);
        if (st.ooo.end !== undefined) attrs.end = formatDateTime(st.ooo.end);
        el.append(x("ooo", attrs, st.ooo.note ?? ""));
      }
      return el;
    };
    ctx.iq("get", "self", NS_P, "settings", (p) => settingsElement(p.from.bareString));
    ctx.iq("set", "self", NS_P, "settings", async (p, el) => {
      const user = p.from.bareString;
      const pm = bool(el.attrs["privacy-mode"], "privacy-mode");
      const oooEls = el.getChildren("ooo");
      if (oooEls.length > 1) throw new StanzaError("bad-request", "at most one <ooo/>");
      let ooo: StoredOutOfOffice | undefined | null = null; // null = unchanged
      if (oooEls.length === 1) {
        const o = oooEls[0];
        if (bool(o.attrs.enabled, "enabled") === false) ooo = undefined;
        else {
          ooo = {};
          const note = o.text().trim();
          if ([...note].length > cfg.maxNoteChars) throw new StanzaError("policy-violation", `out-of-office note is ${[...note].length} characters long; at most ${cfg.maxNoteChars}`);
          if (note !== "") ooo.note = note;
          for (const k of ["start", "end"] as const) {
            if (o.attrs[k] === undefined) continue;
            const t = parseDateTime(o.attrs[k]);
            if (t === undefined) throw new StanzaError("bad-request", `${k} '${o.attrs[k]}' is not a XEP-0082 date-time (e.g. 2025-03-03T17:00:00Z)`);
            ooo[k] = t;
          }
          if (ooo.start !== undefined && ooo.end !== undefined && ooo.end <= ooo.start) throw new StanzaError("bad-request", "end must be after start");
        }
      }
      if (pm === true && !settings.allowPrivacyMode) {
        throw new StanzaError("not-allowed", "privacy mode is not enabled by this organisation (privacy.allowPrivacyMode)");
      }
      if (pm !== undefined) await engine.setPrivacyMode(user, pm);
      if (ooo !== null) {
        await engine.retain(user);
        await engine.setOutOfOffice(user, ooo);
        if (!sessions.hasResources(user)) engine.release(user);
      }
      return settingsElement(user);
    });

    // --- Do Not Disturb and IM ---------------------------------------------------------------------
    /** Held messages being delivered again (the DND check lets them through). */
    const releasing = new WeakSet<Element>();
    /** Users whose held messages are being delivered: new IM queues behind them (order). */
    const flushing = new Map<string, Promise<void>>();

    const isNotice = (stanza: Element): boolean => stanza.getChild("held", NS_P) !== undefined || stanza.getChild("silenced", NS_P) !== undefined;

    const noticeTo = async (p: StanzaPayload, level: ViewerLevel, kind: "held" | "silenced"): Promise<void> => {
      const owner = p.to.bareString;
      const seesAvailability = level === "self" || cell("availability", level) === "yes";
      const text =
        kind === "held"
          ? seesAvailability
            ? `${owner} is on Do Not Disturb. Your message is held and will be delivered when they are available.`
            : `${owner} cannot take messages right now. Your message is held and will be delivered later.`
          : `${owner} is on Do Not Disturb. Your message was delivered without a notification.`;
      const attrs: Record<string, string> = { xmlns: NS_P };
      if (p.stanza.attrs.id !== undefined) attrs.id = p.stanza.attrs.id;
      const msg = x(
        "message",
        { type: p.stanza.attrs.type === "chat" ? "chat" : "normal", from: owner, to: p.from.toString(), id: `${kind}-${Math.random().toString(36).slice(2, 10)}` },
        x("body", null, text),
        x(kind, attrs),
        x("no-permanent-store", { xmlns: NS.HINTS }),
      );
      await ctx.router.route(msg);
    };

    const hold = async (owner: string, stanza: Element): Promise<void> => {
      if ((await store.heldCount(owner)) >= ctx.config.limits.offlineQuota) {
        throw new StanzaError("resource-constraint", `${owner} is on Do Not Disturb and has too many held messages; try again later`);
      }
      const copy = stanza.clone();
      const ownDelay = copy.getChildren("delay", NS.DELAY).some((d) => d.attrs.from === ctx.domain);
      if (!ownDelay) copy.append(x("delay", { xmlns: NS.DELAY, from: ctx.domain, stamp: new Date(clock.now()).toISOString() }, "Held: Do Not Disturb"));
      await store.hold(owner, copy.toString(), clock.now());
    };

    /**
     * Held messages go out when the user is online and not on DND (Appear Offline counts as
     * online: IM reaches them normally). Signing out while on DND keeps them held: they are
     * delivered when the user is back and has left DND.
     */
    function releasable(state: PresenceState | undefined): boolean {
      return state !== undefined && state.class !== "dnd" && (state.class !== "offline" || state.appearOffline);
    }

    /** Delivers the user's held messages in order, unless they are (again) on DND. */
    const flush = (owner: string): Promise<void> => {
      const running = flushing.get(owner);
      if (running) return running;
      const run = (async () => {
        for (;;) {
          if (engine.current(owner)?.class === "dnd") return;
          const batch = await store.held(owner, FLUSH_BATCH);
          if (batch.length === 0) return;
          const done: number[] = [];
          try {
            for (const m of batch) {
              if (engine.current(owner)?.class === "dnd") break;
              let el: Element;
              try {
                el = parseElement(m.stanza);
              } catch (err) {
                ctx.log.error({ err, id: m.id, owner }, "unreadable held message dropped");
                done.push(m.id);
                continue;
              }
              releasing.add(el);
              let from: Jid;
              let to: Jid;
              try {
                from = Jid.parse(el.attrs.from ?? "");
                to = Jid.parse(el.attrs.to ?? owner);
              } catch {
                done.push(m.id);
                continue;
              }
              await ctx.router.deliver({ stanza: el, origin: undefined, from, to });
              done.push(m.id);
            }
          } finally {
            if (done.length) await store.release(owner, done);
          }
          if (done.length < batch.length) return;
        }
      })().finally(() => flushing.delete(owner));
      flushing.set(owner, run);
      run.catch((err) => ctx.log.error({ err, owner }, "delivering held messages failed; they stay held"));
      return run;
    };

    ctx.on(PresenceEvents.changed, ({ user, state, previous }) => {
      if (previous.class === "dnd" && releasable(state)) void flush(user).catch(() => undefined);
    });

    /** IM to a user on Do Not Disturb (docs/presence.md, "Do Not Disturb and IM"). */
    const onMessage = (p: StanzaPayload): boolean | Promise<boolean> => {
      const { stanza, from, to } = p;
      if (releasing.has(stanza)) return false;
      const type = stanza.attrs.type ?? "normal";
      if (type !== "chat" && type !== "normal") return false;
      if (stanza.getChild("body") === undefined || isNotice(stanza)) return false;
      const owner = to.bareString;
      if (from.bareString === owner || from.local === "") return false;
      const state = engine.current(owner);
      const queueing = flushing.has(owner);
      if (!queueing && (state === undefined || state.class !== "dnd")) return false; // the common case: synchronous
      return (async () => {
        if (state === undefined || state.class !== "dnd") {
          // Held messages are being delivered: this one queues behind them (order).
          await hold(owner, stanza);
          void flush(owner).catch(() => undefined);
          return true;
        }
        const level = await service.level(owner, from);
        const d = messageDisposition(state, level, settings.dndPolicy);
        switch (d) {
          case "deliver":
            return false;
          case "deliver-silently":
            stanza.append(x("silent", { xmlns: NS_P }));
            await noticeTo(p, level, "silenced");
            return false;
          case "refuse": {
            const err = new StanzaError("policy-violation", `${owner} is on Do Not Disturb and does not accept messages now; try again later`, {
              type: "wait",
              extra: [x("dnd", { xmlns: NS_P })],
            });
            await ctx.router.bounce(stanza, err, to);
            return true;
          }
          case "hold":
            try {
              await hold(owner, stanza);
            } catch (err) {
              if (err instanceof StanzaError) {
                await ctx.router.bounce(stanza, err, to);
                return true;
              }
              throw err;
            }
            await noticeTo(p, level, "held");
            return true;
        }
      })();
    };
    ctx.on(StanzaEvents.deliver.message.bare, onMessage, Priority.Early);
    ctx.on(StanzaEvents.deliver.message.full, onMessage, Priority.Early);
  },
});
