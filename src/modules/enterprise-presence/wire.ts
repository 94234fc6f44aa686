// The Parley presence extension (urn:parley:presence:0) inside <presence>, in both directions,
// and the per-level rendering of a user's presence for fan-out. Wire format: docs/presence.md.
import { Element, x } from "../../xml/element.ts";
import { StanzaError } from "../../core/errors.ts";
import {
  ACTIVITIES, CLASS_RANGES, DEVICE_ACTIVITIES, DEVICE_KINDS, classOf, isActivityToken, isManualMode,
  type ActivityToken, type AvailabilityClass, type DeviceActivity, type DeviceKind, type MachineState,
  type ManualMode, type ManualRequest, type NoteRequest,
} from "./model.ts";
import { customStateLabel, findCustomState, type CustomStateDef } from "./custom-states.ts";
import { pickLanguage } from "./lang.ts";
import type { PresenceState, MeetingInfo } from "./aggregate.ts";
import { cell, project, projectionKey, xmppShowStatus, isAssignableLevel, type AssignableLevel, type ContactCard, type PresenceProjection, type ViewerLevel } from "./privacy.ts";

export const NS_PRESENCE = "urn:parley:presence:0";
export const NS_IDLE = "urn:xmpp:idle:1";
export const NS_VCARD_UPDATE = "vcard-temp:x:update";

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: StanzaError };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = (condition: "bad-request" | "item-not-found" | "policy-violation", text: string): Result<never> => ({ ok: false, error: new StanzaError(condition, text) });

// ---------------------------------------------------------------------------------------
// Dates (XEP-0082 DateTime, always sent in UTC without fractions)

const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

export function formatDateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** Parses a XEP-0082 DateTime (timezone required); undefined when malformed or impossible (Feb 30). */
export function parseDateTime(s: string): number | undefined {
  const m = DATETIME_RE.exec(s.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > daysInMonth) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const t = Date.parse(s.trim());
  return Number.isFinite(t) ? t : undefined;
}

// ---------------------------------------------------------------------------------------
// Server → watcher: <state/>

/**
 * The extension element for a projection: only what it contains (and so only what the level
 * may see). `lang` chooses the custom state's label; a list gives one <custom> per language.
 */
export function encode(p: PresenceProjection, lang?: string | readonly string[]): Element {
  const attrs: Record<string, string> = { xmlns: NS_PRESENCE };
  if (p.availability !== undefined) attrs.availability = String(p.availability);
  if (p.availabilityClass !== undefined) attrs.class = p.availabilityClass;
  if (p.activity !== undefined) attrs.activity = p.activity;
  if (p.endTime !== undefined) attrs.until = formatDateTime(p.endTime);
  if (p.lastActive !== undefined) attrs["last-active"] = formatDateTime(p.lastActive);
  if (p.mobile === true) attrs.mobile = "true";
  if (p.level === "self") {
    if (p.manualMode !== undefined) attrs.mode = p.manualMode;
    if (p.appearOffline === true) attrs["appear-offline"] = "true";
  }
  const el = x("state", attrs);
  if (p.custom !== undefined) {
    const langs = lang === undefined ? [undefined] : typeof lang === "string" ? [lang] : lang.length ? lang : [undefined];
    const seen = new Set<string>();
    for (const l of langs) {
      const key = pickLanguage(Object.keys(p.custom.labels), l);
      if (key === undefined || seen.has(key)) continue;
      seen.add(key);
      el.append(x("custom", { id: p.custom.id, "xml:lang": key }, customStateLabel(p.custom, key)));
    }
    if (seen.size === 0) el.append(x("custom", { id: p.custom.id }));
  }
  if (p.note !== undefined) el.append(x("note", null, p.note));
  if (p.oooNote !== undefined) el.append(x("ooo", null, p.oooNote));
  if (p.location !== undefined) el.append(x("location", null, p.location));
  if (p.meeting !== undefined) {
    el.append(
      x(
        "meeting",
        { start: formatDateTime(p.meeting.start), end: formatDateTime(p.meeting.end) },
        p.meeting.subject !== undefined ? x("subject", null, p.meeting.subject) : null,
        p.meeting.location !== undefined ? x("location", null, p.meeting.location) : null,
      ),
    );
  }
  return el;
}

/** A <state/> as a client reads it (the web client and tests). */
export interface WireState {
  readonly availability?: number;
  readonly class?: AvailabilityClass;
  readonly activity?: ActivityToken;
  readonly custom?: { readonly id: string; readonly labels: Readonly<Record<string, string>> };
  readonly until?: number;
  readonly lastActive?: number;
  readonly mobile?: boolean;
  readonly mode?: ManualMode;
  readonly appearOffline?: boolean;
  readonly note?: string;
  readonly ooo?: string;
  readonly location?: string;
  readonly meeting?: MeetingInfo;
}

/** Reads a server-sent <state/> (lenient about unknown attributes, strict about values). */
export function decodeState(el: Element): Result<WireState> {
  if (el.name !== "state" || el.attrs.xmlns !== NS_PRESENCE) return fail("bad-request", `expected <state xmlns='${NS_PRESENCE}'/>`);
  const out: Record<string, unknown> = {};
  const a = el.attrs;
  if (a.availability !== undefined) {
    if (!/^\d{1,9}$/.test(a.availability)) return fail("bad-request", `availability '${a.availability}' is not a number`);
    out.availability = Number(a.availability);
    out.class = classOf(out.availability as number);
  }
  if (a.activity !== undefined) {
    if (!isActivityToken(a.activity)) return fail("bad-request", `unknown activity '${a.activity}'`);
    out.activity = a.activity;
  }
  for (const [attr, key] of [["until", "until"], ["last-active", "lastActive"]] as const) {
    if (a[attr] !== undefined) {
      const t = parseDateTime(a[attr]);
      if (t === undefined) return fail("bad-request", `${attr} '${a[attr]}' is not a XEP-0082 date-time`);
      out[key] = t;
    }
  }
  if (a.mobile === "true") out.mobile = true;
  if (a["appear-offline"] === "true") out.appearOffline = true;
  if (a.mode !== undefined && isManualMode(a.mode)) out.mode = a.mode;
  const customs = el.getChildren("custom");
  if (customs.length) {
    const labels: Record<string, string> = {};
    for (const c of customs) if (c.attrs["xml:lang"] !== undefined) labels[c.attrs["xml:lang"]] = c.text();
    out.custom = { id: customs[0].attrs.id ?? "", labels };
  }
  for (const [name, key] of [["note", "note"], ["ooo", "ooo"], ["location", "location"]] as const) {
    const t = el.getChildText(name);
    if (t !== undefined) out[key] = t;
  }
  const m = el.getChild("meeting");
  if (m) {
    const start = parseDateTime(m.attrs.start ?? "");
    const end = parseDateTime(m.attrs.end ?? "");
    if (start === undefined || end === undefined) return fail("bad-request", "meeting needs start and end date-times");
    const meeting: Record<string, unknown> = { start, end };
    const subject = m.getChildText("subject");
    const loc = m.getChildText("location");
    if (subject !== undefined) meeting.subject = subject;
    if (loc !== undefined) meeting.location = loc;
    out.meeting = meeting;
  }
  return ok(out as WireState);
}

// ---------------------------------------------------------------------------------------
// Whole presence stanzas, rendered once per privacy level

export interface RenderOptions {
  /** The sending resource's full JID (each resource of the user sends the same aggregate). */
  readonly from?: string;
  /** Languages for <status/> and custom labels; the first is the default (no xml:lang). Default ["en"]. */
  readonly langs?: readonly string[];
  /** The resource's own priority (available presence only). */
  readonly priority?: number;
  /** Elements kept from the resource's presence, e.g. XEP-0115 <c/> (available presence only). */
  readonly extra?: readonly Element[];
  /** The user's standard client said <show>chat</show>: shown as such while Available. */
  readonly freeForChat?: boolean;
  /** xml:lang of the <presence/> (the language of the <status/> without xml:lang), when not the stream's. */
  readonly lang?: string;
}

export interface RenderedPresence {
  /** Levels with the same key share this object (and its bytes). */
  readonly key: string;
  readonly projection: PresenceProjection;
  readonly available: boolean;
  /** The <presence/> without 'to'. */
  readonly stanza: Element;
  /** stanza serialized once; insert " to='…'" after "<presence" per recipient. */
  readonly xml: string;
}

/** One projection as a standard <presence/> + the Parley extension + XEP-0319 idle + XEP-0153 photo. */
export function renderPresence(p: PresenceProjection, opts: RenderOptions = {}): { stanza: Element; xml: string; available: boolean } {
  const langs = opts.langs && opts.langs.length ? opts.langs : ["en"];
  const view = xmppShowStatus(p, langs[0]);
  const attrs: Record<string, string> = {};
  if (opts.from !== undefined) attrs.from = opts.from;
  if (!view.available) attrs.type = "unavailable";
  if (opts.lang !== undefined) attrs["xml:lang"] = opts.lang;
  const stanza = x("presence", attrs);
  if (view.show !== undefined) stanza.append(x("show", null, view.show));
  else if (view.available && opts.freeForChat === true && p.availabilityClass === "available") stanza.append(x("show", null, "chat"));
  if (view.status !== undefined) {
    stanza.append(x("status", null, view.status));
    const seen = new Set([view.status]);
    for (const l of langs.slice(1)) {
      const s = xmppShowStatus(p, l).status;
      if (s !== undefined && !seen.has(s)) {
        seen.add(s);
        stanza.append(x("status", { "xml:lang": l }, s));
      }
    }
  }
  if (view.available && opts.priority !== undefined && opts.priority !== 0) stanza.append(x("priority", null, String(opts.priority)));
  if (p.availability !== undefined) stanza.append(encode(p, langs));
  if (view.idleSince !== undefined) stanza.append(x("idle", { xmlns: NS_IDLE, since: formatDateTime(view.idleSince) }));
  if (view.available && p.photo !== undefined) stanza.append(x("x", { xmlns: NS_VCARD_UPDATE }, x("photo", null, p.photo)));
  if (view.available) {
    // A XEP-0153 hash the vcard module stamped into the client's presence follows the photo row
    // too (card.photo is left unset by the fan-out: the stamp is the one source of the hash).
    const photoOk = p.level === "self" || cell("profile", p.level) === "yes";
    for (const e of opts.extra ?? []) if (photoOk || e.name !== "x" || e.attrs.xmlns !== NS_VCARD_UPDATE) stanza.append(e);
  }
  return { stanza, xml: stanza.toString(), available: view.available };
}

/**
 * Renders `state` for each level in `levels`, at most once per distinct projection
 * (projectionKey: levels whose presence stanzas cannot differ share one), and serializes each
 * once. Returns level → rendering; fan-out sends `xml` with only 'to' inserted.
 */
export function renderPerLevel(state: PresenceState, card: ContactCard | undefined, levels: Iterable<ViewerLevel>, opts: RenderOptions = {}): Map<ViewerLevel, RenderedPresence> {
  const byKey = new Map<string, RenderedPresence>();
  const out = new Map<ViewerLevel, RenderedPresence>();
  for (const level of levels) {
    if (out.has(level)) continue;
    const key = projectionKey(level);
    let r = byKey.get(key);
    if (!r) {
      const projection = project(state, card, level);
      const { stanza, xml, available } = renderPresence(projection, opts);
      r = Object.freeze({ key, projection, available, stanza, xml });
      byKey.set(key, r);
    }
    out.set(level, r);
  }
  return out;
}

/** The presence string for one recipient: the shared bytes with 'to' inserted. */
export function withTo(xml: string, to: string): string {
  const esc = to.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;").replace(/"/g, "&quot;");
  return "<presence to='" + esc + "'" + xml.slice("<presence".length);
}

// ---------------------------------------------------------------------------------------
// Client → server

export interface DecodeContext {
  /** Server time when the stanza arrived. */
  readonly now: number;
  readonly customStates: readonly CustomStateDef[];
  /** Furthest allowed end time ahead of now. Default 366 days. */
  readonly maxUntilMs?: number;
  /** Longest personal note (characters). Default 500. */
  readonly maxNoteChars?: number;
  /** Longest location (characters). Default 256. */
  readonly maxLocationChars?: number;
  /** First available presence of this session (a standard client's plain presence then resets nothing). */
  readonly initial?: boolean;
}

export const DEFAULT_MAX_UNTIL_MS = 366 * 24 * 60 * 60 * 1000;
export const DEFAULT_MAX_NOTE_CHARS = 500;
export const DEFAULT_MAX_LOCATION_CHARS = 256;

/** What one endpoint reports about itself (a full snapshot with each presence). */
export interface EndpointReport {
  readonly kind?: DeviceKind;
  readonly state?: MachineState;
  readonly activity?: DeviceActivity;
  readonly location?: string;
  /** XEP-0319 <idle since>, client clock. */
  readonly idleSince?: number;
}

/** A user's choice sent in <set/>: absent fields change nothing. */
export interface SetRequest {
  readonly manual?: ManualRequest;
  readonly note?: NoteRequest;
}

export interface ClientPresenceUpdate extends SetRequest {
  readonly endpoint: EndpointReport;
  /** No Parley element: decoded from <show/>/<status/> (see docs/presence.md, "Standard clients"). */
  readonly standard: boolean;
}

const SET_TOKENS: Readonly<Record<string, ManualMode>> = Object.freeze({
  available: "available", busy: "busy", dnd: "dnd", brb: "brb", away: "away", "off-work": "off-work", "appear-offline": "appear-offline",
});

function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** An availability number a user may choose → its mode (idle ranges are the server's). */
function modeOfNumber(n: number): Result<ManualMode> {
  const cls = classOf(n);
  switch (cls) {
    case "available": return ok("available");
    case "busy": return ok("busy");
    case "dnd": return ok("dnd");
    case "brb": return ok("brb");
    case "away": return ok("away");
    case "offline": return ok("appear-offline");
    case "available-idle":
    case "busy-idle":
      return fail("bad-request", `availability ${n} is an idle state (${CLASS_RANGES[cls][0]}–${CLASS_RANGES[cls][1]}) that only the server sets from idle time; choose 3500 (available) or 6500 (busy)`);
    default:
      return fail("bad-request", `availability ${n} is not a state (numbers below 3000 are undefined)`);
  }
}

function bool(v: string | undefined, name: string): Result<boolean | undefined> {
  if (v === undefined) return ok(undefined);
  if (v === "true" || v === "1") return ok(true);
  if (v === "false" || v === "0") return ok(false);
  return fail("bad-request", `${name}='${v}' is not a boolean; expected 'true' or 'false'`);
}

/** Decodes a client's <set xmlns='urn:parley:presence:0'/>: manual state, note, until, reset. */
export function decode(el: Element, ctx: DecodeContext): Result<SetRequest> {
  if (el.name !== "set" || el.attrs.xmlns !== NS_PRESENCE) return fail("bad-request", `expected <set xmlns='${NS_PRESENCE}'/>`);
  const a = el.attrs;
  const out: { manual?: ManualRequest; note?: NoteRequest } = {};

  const reset = bool(a.reset, "reset");
  if (!reset.ok) return reset;
  if (reset.value === true) {
    const extra = ["availability", "activity", "custom", "until"].filter((k) => a[k] !== undefined);
    if (extra.length) return fail("bad-request", `reset='true' cannot be combined with ${extra.join(", ")}`);
    out.manual = { kind: "reset" };
  }

  let mode: ManualMode | undefined;
  if (a.availability !== undefined) {
    const v = a.availability.trim();
    if (/^\d{1,9}$/.test(v)) {
      const r = modeOfNumber(Number(v));
      if (!r.ok) return r;
      mode = r.value;
    } else if (Object.hasOwn(SET_TOKENS, v)) mode = SET_TOKENS[v];
    else return fail("bad-request", `availability '${a.availability}' is not valid; expected a number or one of ${Object.keys(SET_TOKENS).join(", ")}`);
  }

  if (a.activity !== undefined) {
    if (a.activity !== "off-work") {
      if (isActivityToken(a.activity)) {
        const src = ACTIVITIES[a.activity].source;
        return fail("bad-request", `activity '${a.activity}' is set by the server (${src === "device" ? "report it in <device activity='…'/>" : src === "calendar" ? "from the calendar" : "for Workgroup watchers"}); clients may only choose 'off-work'`);
      }
      return fail("bad-request", `unknown activity '${a.activity}'; clients may only choose 'off-work'`);
    }
    if (mode !== undefined && mode !== "away" && mode !== "off-work") return fail("bad-request", `activity 'off-work' is a kind of away; it cannot go with availability '${a.availability}'`);
    mode = "off-work";
  }

  let customStateId: string | undefined;
  if (a.custom !== undefined) {
    const def = findCustomState(ctx.customStates, a.custom);
    if (!def) return fail("item-not-found", `no custom state '${a.custom}' is defined`);
    if (mode !== undefined && mode !== def.availability) return fail("bad-request", `custom state '${def.id}' is bound to '${def.availability}', not '${mode}'`);
    mode = def.availability;
    customStateId = def.id;
  }

  let until: number | undefined;
  if (a.until !== undefined) {
    if (mode === undefined) return fail("bad-request", "until needs a state (availability, activity or custom)");
    until = parseDateTime(a.until);
    if (until === undefined) return fail("bad-request", `until '${a.until}' is not a XEP-0082 date-time (e.g. 2025-03-03T17:00:00Z)`);
    if (until <= ctx.now) return fail("bad-request", `until '${a.until}' is not in the future`);
    const max = ctx.maxUntilMs ?? DEFAULT_MAX_UNTIL_MS;
    if (until - ctx.now > max) return fail("bad-request", `until '${a.until}' is too far ahead; at most ${Math.floor(max / 86_400_000)} days`);
  }

  if (mode !== undefined) {
    const m: { kind: "set"; mode: ManualMode; customStateId?: string; until?: number } = { kind: "set", mode };
    if (customStateId !== undefined) m.customStateId = customStateId;
    if (until !== undefined) m.until = until;
    out.manual = m;
  }

  const notes = el.getChildren("note");
  if (notes.length > 1) return fail("bad-request", "at most one <note/>");
  if (notes.length === 1) {
    const text = notes[0].text().trim();
    const max = ctx.maxNoteChars ?? DEFAULT_MAX_NOTE_CHARS;
    if (charLength(text) > max) return fail("policy-violation", `note is ${charLength(text)} characters long; at most ${max}`);
    out.note = text === "" ? { kind: "clear" } : { kind: "set", text };
  }
  return ok(out);
}

/** Decodes <device xmlns='urn:parley:presence:0' kind state activity><location/></device>. */
export function decodeDevice(el: Element, ctx: Pick<DecodeContext, "maxLocationChars"> = {}): Result<EndpointReport> {
  if (el.name !== "device" || el.attrs.xmlns !== NS_PRESENCE) return fail("bad-request", `expected <device xmlns='${NS_PRESENCE}'/>`);
  const a = el.attrs;
  const out: Record<string, unknown> = {};
  if (a.kind !== undefined) {
    if (!(DEVICE_KINDS as readonly string[]).includes(a.kind)) return fail("bad-request", `device kind '${a.kind}' is not valid; expected ${DEVICE_KINDS.join(", ")}`);
    out.kind = a.kind;
  }
  if (a.state !== undefined) {
    if (a.state !== "active" && a.state !== "inactive" && a.state !== "away") return fail("bad-request", `device state '${a.state}' is not valid; expected active, inactive or away`);
    out.state = a.state;
  }
  if (a.activity !== undefined) {
    if (!(DEVICE_ACTIVITIES as readonly string[]).includes(a.activity)) return fail("bad-request", `device activity '${a.activity}' is not valid; expected ${DEVICE_ACTIVITIES.join(", ")}`);
    out.activity = a.activity;
  }
  const locs = el.getChildren("location");
  if (locs.length > 1) return fail("bad-request", "at most one <location/>");
  if (locs.length === 1) {
    const text = locs[0].text().trim();
    const max = ctx.maxLocationChars ?? DEFAULT_MAX_LOCATION_CHARS;
    if (charLength(text) > max) return fail("policy-violation", `location is ${charLength(text)} characters long; at most ${max}`);
    if (text !== "") out.location = text;
  }
  return ok(out as EndpointReport);
}

/** XEP-0319 <idle since='…'/>. */
export function decodeIdle(el: Element): Result<number> {
  const since = el.attrs.since;
  const t = since === undefined ? undefined : parseDateTime(since);
  if (t === undefined) return fail("bad-request", `idle since='${since ?? ""}' is not a XEP-0082 date-time`);
  return ok(t);
}

function truncate(s: string, max: number): string {
  if (charLength(s) <= max) return s;
  return [...s].slice(0, max - 1).join("") + "…";
}

/**
 * Decodes what a client's broadcast <presence/> says: the Parley <set/> and <device/> when
 * present; otherwise the standard mapping of <show/>/<status/> (docs/presence.md).
 */
export function decodePresence(presence: Element, ctx: DecodeContext): Result<ClientPresenceUpdate> {
  const sets = presence.getChildren("set", NS_PRESENCE);
  const devices = presence.getChildren("device", NS_PRESENCE);
  const idles = presence.getChildren("idle", NS_IDLE);
  if (sets.length > 1) return fail("bad-request", "at most one <set/> per presence");
  if (devices.length > 1) return fail("bad-request", "at most one <device/> per presence");
  if (idles.length > 1) return fail("bad-request", "at most one <idle/> per presence");

  let endpoint: Record<string, unknown> = {};
  if (devices.length) {
    const d = decodeDevice(devices[0], ctx);
    if (!d.ok) return d;
    endpoint = { ...d.value };
  }
  if (idles.length) {
    const i = decodeIdle(idles[0]);
    if (!i.ok) return i;
    endpoint.idleSince = i.value;
  }

  if (sets.length || devices.length) {
    let req: SetRequest = {};
    if (sets.length) {
      const s = decode(sets[0], ctx);
      if (!s.ok) return s;
      req = s.value;
    }
    return ok({ ...req, endpoint: endpoint as EndpointReport, standard: false });
  }

  // A standard client.
  const showText = presence.getChildText("show");
  const show = showText?.trim();
  let manual: ManualRequest | undefined;
  if (show === undefined || show === "chat") {
    if (!ctx.initial) manual = { kind: "reset-own" };
  } else if (show === "dnd") {
    manual = { kind: "set", mode: "busy" };
  } else if (show === "away" || show === "xa") {
    if (idles.length === 0) manual = { kind: "set", mode: show === "away" ? "brb" : "away" };
  } else {
    return fail("bad-request", `show '${show}' is not valid; expected away, chat, dnd or xa`);
  }
  let note: NoteRequest | undefined;
  const statuses = presence.getChildren("status");
  const status = statuses.find((s) => s.attrs["xml:lang"] === undefined) ?? statuses[0];
  if (status !== undefined) {
    const text = truncate(status.text().trim(), ctx.maxNoteChars ?? DEFAULT_MAX_NOTE_CHARS);
    note = text === "" ? { kind: "clear" } : { kind: "set", text };
  } else if (!ctx.initial) note = { kind: "clear-own" };
  const out: { manual?: ManualRequest; note?: NoteRequest; endpoint: EndpointReport; standard: true } = { endpoint: endpoint as EndpointReport, standard: true };
  if (manual) out.manual = manual;
  if (note) out.note = note;
  return ok(out);
}

// ---------------------------------------------------------------------------------------
// Privacy level of a contact (roster item extension)

/** <privacy xmlns='urn:parley:presence:0' level='workgroup'/> inside a roster <item/>. */
export function encodeLevel(level: AssignableLevel | "blocked"): Element {
  return x("privacy", { xmlns: NS_PRESENCE, level });
}

export function decodeLevel(el: Element): Result<AssignableLevel | "blocked"> {
  if (el.name !== "privacy" || el.attrs.xmlns !== NS_PRESENCE) return fail("bad-request", `expected <privacy xmlns='${NS_PRESENCE}'/>`);
  const level = el.attrs.level;
  if (level === "blocked" || (level !== undefined && isAssignableLevel(level))) return ok(level);
  return fail("bad-request", `privacy level '${level ?? ""}' is not valid; expected friends-family, workgroup, colleagues, external or blocked`);
}
