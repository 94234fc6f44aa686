// Privacy relationships (PRODUCT.md §2): the levels, how a watcher's level is decided, and the
// visibility matrix as DATA, with project() returning exactly what a level may see.
import { AVAILABILITY, APPEAR_OFFLINE_LABELS, activityLabel, classLabel, type ActivityToken, type AvailabilityClass, type ManualMode } from "./model.ts";
import { workgroupView, type MeetingInfo, type PresenceState } from "./aggregate.ts";
import { customStateLabel, type CustomStateDef } from "./custom-states.ts";
import { pickLabel } from "./lang.ts";

// ---------------------------------------------------------------------------------------
// Levels

/** The matrix columns, in PRODUCT.md's order. */
export type PrivacyLevel = "everyone" | "blocked" | "external" | "colleagues" | "workgroup" | "friends-family";
export const PRIVACY_LEVELS: readonly PrivacyLevel[] = Object.freeze(["everyone", "blocked", "external", "colleagues", "workgroup", "friends-family"]);

/** Levels a user can assign to a contact (Blocked is the XEP-0191 blocklist; Everyone is "no relationship"). */
export type AssignableLevel = "external" | "colleagues" | "workgroup" | "friends-family";
export const ASSIGNABLE_LEVELS: readonly AssignableLevel[] = Object.freeze(["external", "colleagues", "workgroup", "friends-family"]);

/** A viewer: a privacy level, or the user's own resources. */
export type ViewerLevel = PrivacyLevel | "self";

export function isPrivacyLevel(s: string): s is PrivacyLevel {
  return (PRIVACY_LEVELS as readonly string[]).includes(s);
}
export function isAssignableLevel(s: string): s is AssignableLevel {
  return (ASSIGNABLE_LEVELS as readonly string[]).includes(s);
}

export interface LevelContext {
  /** The presence owner's bare JID. */
  readonly owner: string;
  /** The watcher's bare JID; undefined = anonymous (the public badge, unauthenticated REST). */
  readonly watcher?: string;
  /** The organisation's domains (the server's own). */
  readonly orgDomains: Iterable<string>;
  /** The owner's XEP-0191 blocklist matches the watcher. */
  readonly blocked: boolean;
  /** The level the owner gave this contact, if any. */
  readonly assigned?: AssignableLevel;
  /** Levels the owner gave to whole domains ("everyone at partner.example is Workgroup"). */
  readonly domainLevels?: ReadonlyMap<string, AssignableLevel>;
  /** The watcher is in the owner's contact list (any subscription state). */
  readonly inContacts: boolean;
  /** Privacy mode in effect for the owner (the organisation allows it and the owner turned it on). */
  readonly privacyMode: boolean;
}

function domainOf(bare: string): string {
  const at = bare.indexOf("@");
  const d = at < 0 ? bare : bare.slice(at + 1);
  const slash = d.indexOf("/");
  return (slash < 0 ? d : d.slice(0, slash)).toLowerCase();
}

/** Same organisation's domains → Colleagues; anyone else → External. */
export function defaultLevel(watcher: string, orgDomains: Iterable<string>): "colleagues" | "external" {
  const d = domainOf(watcher);
  for (const o of orgDomains) if (o.toLowerCase() === d) return "colleagues";
  return "external";
}

/**
 * The watcher's level, first rule that applies:
 *   self → "self"; anonymous → Everyone; on the blocklist → Blocked; a level assigned to the
 *   contact → it; privacy mode and not a contact → Everyone; a level assigned to the watcher's
 *   domain → it; else the default from the domain (Colleagues / External).
 */
export function resolveLevel(ctx: LevelContext): ViewerLevel {
  if (ctx.watcher === undefined) return "everyone";
  if (ctx.watcher === ctx.owner) return "self";
  if (ctx.blocked) return "blocked";
  if (ctx.assigned !== undefined) return ctx.assigned;
  if (ctx.privacyMode && !ctx.inContacts) return "everyone";
  const byDomain = ctx.domainLevels?.get(domainOf(ctx.watcher));
  if (byDomain !== undefined) return byDomain;
  return defaultLevel(ctx.watcher, ctx.orgDomains);
}

// ---------------------------------------------------------------------------------------
// The matrix (PRODUCT.md §2), as data

export type MatrixRow =
  | "identity"
  | "availability"
  | "activity"
  | "profile"
  | "office"
  | "notes"
  | "mobile-phone"
  | "other-phones"
  | "meeting"
  | "dnd-breakthrough"
  | "send-im";

/** ✓ = "yes", – = "no", plus the two special cells of the Blocked column. */
export type Cell = "yes" | "no" | "directory-only" | "always-offline";

/** The attribute text of each row, as in PRODUCT.md. */
export const MATRIX_ROW_TITLES: Readonly<Record<MatrixRow, string>> = Object.freeze({
  identity: "display name, email",
  availability: "availability (Available/Busy/Away…)",
  activity: "activity (In a meeting, In a call…)",
  profile: "title, company, photo",
  office: "office, work phone",
  notes: "personal note, out-of-office note, last active, location",
  "mobile-phone": "mobile phone",
  "other-phones": "home and other phones",
  meeting: "meeting subject and place",
  "dnd-breakthrough": "reaches them on Do Not Disturb",
  "send-im": "can send IM",
});

const row = (everyone: Cell, blocked: Cell, external: Cell, colleagues: Cell, workgroup: Cell, friendsFamily: Cell): Readonly<Record<PrivacyLevel, Cell>> =>
  Object.freeze({ everyone, blocked, external, colleagues, workgroup, "friends-family": friendsFamily });
const Y = "yes";
const N = "no";

/** THE privacy matrix. Columns: Everyone, Blocked, External, Colleagues, Workgroup, Friends & Family. */
export const PRIVACY_MATRIX: Readonly<Record<MatrixRow, Readonly<Record<PrivacyLevel, Cell>>>> = Object.freeze({
  identity:           row(Y, "directory-only", Y, Y, Y, Y),
  availability:       row(N, "always-offline", Y, Y, Y, Y),
  activity:           row(N, N, N, Y, Y, Y),
  profile:            row(N, N, Y, Y, Y, Y),
  office:             row(N, N, N, Y, Y, Y),
  notes:              row(N, N, N, Y, Y, Y),
  "mobile-phone":     row(N, N, N, N, Y, Y),
  "other-phones":     row(N, N, N, N, N, Y),
  meeting:            row(N, N, N, N, Y, N),
  "dnd-breakthrough": row(N, N, N, N, Y, N),
  "send-im":          row(Y, N, Y, Y, Y, Y),
});

export const MATRIX_ROWS: readonly MatrixRow[] = Object.freeze(Object.keys(PRIVACY_MATRIX) as MatrixRow[]);

export function cell(r: MatrixRow, level: PrivacyLevel): Cell {
  return PRIVACY_MATRIX[r][level];
}

export function canSendIm(level: ViewerLevel): boolean {
  return level === "self" || cell("send-im", level) === "yes";
}

/** Whether IM from this level reaches the user live while they are on Do Not Disturb. */
export function reachesOnDnd(level: ViewerLevel): boolean {
  return level === "self" || cell("dnd-breakthrough", level) === "yes";
}

/** Whether the organisation's directory (search, name lookups) lists name and email for this level. */
export function directoryListed(level: ViewerLevel): boolean {
  return level === "self" || cell("identity", level) !== "no";
}

// ---------------------------------------------------------------------------------------
// Contact card and projection

/** Directory / vCard data about the user. */
export interface ContactCard {
  readonly displayName?: string;
  readonly email?: string;
  readonly title?: string;
  readonly company?: string;
  /** Avatar id (XEP-0153/0084 SHA-1 hash). */
  readonly photo?: string;
  readonly office?: string;
  readonly workPhone?: string;
  readonly mobilePhone?: string;
  readonly homePhone?: string;
  readonly otherPhone?: string;
}

/** Exactly what one viewer may see. Absent fields are not visible (or not set). */
export interface PresenceProjection {
  readonly level: ViewerLevel;
  // identity
  readonly displayName?: string;
  readonly email?: string;
  // availability
  readonly availability?: number;
  readonly availabilityClass?: AvailabilityClass;
  readonly mobile?: boolean;
  // activity (a custom state and a chosen end time detail the activity, so they follow its row)
  readonly activity?: ActivityToken;
  readonly custom?: CustomStateDef;
  readonly endTime?: number;
  // profile
  readonly title?: string;
  readonly company?: string;
  readonly photo?: string;
  // office
  readonly office?: string;
  readonly workPhone?: string;
  // notes
  readonly note?: string;
  readonly oooNote?: string;
  readonly lastActive?: number;
  readonly location?: string;
  // phones
  readonly mobilePhone?: string;
  readonly homePhone?: string;
  readonly otherPhone?: string;
  // meeting
  readonly meeting?: MeetingInfo;
  // abilities
  readonly dndBreakthrough: boolean;
  readonly canSendIm: boolean;
  // self only
  readonly appearOffline?: boolean;
  readonly manualMode?: ManualMode;
}

/** Which projection fields each row governs (the abilities rows govern booleans). */
export const ROW_FIELDS: Readonly<Record<MatrixRow, readonly (keyof PresenceProjection)[]>> = Object.freeze({
  identity: ["displayName", "email"],
  availability: ["availability", "availabilityClass", "mobile"],
  activity: ["activity", "custom", "endTime"],
  profile: ["title", "company", "photo"],
  office: ["office", "workPhone"],
  notes: ["note", "oooNote", "lastActive", "location"],
  "mobile-phone": ["mobilePhone"],
  "other-phones": ["homePhone", "otherPhone"],
  meeting: ["meeting"],
  "dnd-breakthrough": ["dndBreakthrough"],
  "send-im": ["canSendIm"],
});

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function copy<T extends object>(out: Record<string, unknown>, from: T | undefined, keys: readonly (keyof T)[]): void {
  if (!from) return;
  for (const k of keys) {
    const v = from[k];
    if (v !== undefined && v !== "") out[k as string] = v;
  }
}

/**
 * What `level` may see of `state` and `card` — exactly the matrix, nothing more:
 * Blocked sees Offline; Workgroup (the level that reaches the user on DND) sees DND as 6900
 * "Urgent interruptions only"; the user's own resources ("self") see everything.
 */
export function project(state: PresenceState, card: ContactCard | undefined, level: ViewerLevel): PresenceProjection {
  const out: Record<string, unknown> = { level };
  if (level === "self") {
    copy(out, card, ["displayName", "email", "title", "company", "photo", "office", "workPhone", "mobilePhone", "homePhone", "otherPhone"]);
    out.availability = state.availability;
    out.availabilityClass = state.class;
    out.mobile = state.mobile;
    copy(out, state, ["activity", "custom", "endTime", "note", "oooNote", "lastActive", "location", "meeting", "manualMode"]);
    out.appearOffline = state.appearOffline;
    out.dndBreakthrough = true;
    out.canSendIm = true;
    return Object.freeze(out) as unknown as PresenceProjection;
  }
  const c = (r: MatrixRow) => PRIVACY_MATRIX[r][level];
  const st = c("dnd-breakthrough") === "yes" ? workgroupView(state) : state;

  if (c("identity") === "yes") copy(out, card, ["displayName", "email"]);
  const av = c("availability");
  if (av === "yes") {
    out.availability = st.availability;
    out.availabilityClass = st.class;
    out.mobile = st.mobile;
  } else if (av === "always-offline") {
    out.availability = AVAILABILITY.offline;
    out.availabilityClass = "offline";
  }
  if (c("activity") === "yes") copy(out, st, ["activity", "custom", "endTime"]);
  if (c("profile") === "yes") copy(out, card, ["title", "company", "photo"]);
  if (c("office") === "yes") copy(out, card, ["office", "workPhone"]);
  if (c("notes") === "yes") copy(out, st, ["note", "oooNote", "lastActive", "location"]);
  if (c("mobile-phone") === "yes") copy(out, card, ["mobilePhone"]);
  if (c("other-phones") === "yes") copy(out, card, ["homePhone", "otherPhone"]);
  if (c("meeting") === "yes") copy(out, st, ["meeting"]);
  out.dndBreakthrough = c("dnd-breakthrough") === "yes";
  out.canSendIm = c("send-im") === "yes";
  return Object.freeze(out) as unknown as PresenceProjection;
}

/**
 * Levels whose presence stanzas are byte-identical share a key, derived from the matrix rows
 * that reach a presence stanza (phones and office only reach the vCard). With the current
 * matrix Colleagues and Friends & Family share one rendering.
 */
export const PRESENCE_ROWS: readonly MatrixRow[] = Object.freeze(["identity", "availability", "activity", "profile", "notes", "meeting", "dnd-breakthrough"]);

export function projectionKey(level: ViewerLevel): string {
  if (level === "self") return "self";
  return PRESENCE_ROWS.map((r) => PRIVACY_MATRIX[r][level]).join("|");
}

// ---------------------------------------------------------------------------------------
// Do Not Disturb and IM

/** What the organisation does with IM to a DND user from someone who cannot break through. */
export type DndPolicy = "hold" | "deliver-silently" | "refuse";

export type MessageDisposition = "deliver" | "hold" | "deliver-silently" | "refuse";

/**
 * The fate of a 1:1 message from a viewer of `level` to a user in `state`: refused when the
 * level may not send IM (Blocked); when the user is on DND and the level cannot break through,
 * per the organisation's policy; else delivered. Appear Offline does not hold IM.
 */
export function messageDisposition(state: PresenceState, level: ViewerLevel, policy: DndPolicy = "hold"): MessageDisposition {
  if (!canSendIm(level)) return "refuse";
  if (state.class === "dnd" && !reachesOnDnd(level)) return policy;
  return "deliver";
}

// ---------------------------------------------------------------------------------------
// Standard XMPP clients: <show/> and <status/>

export type XmppShow = "away" | "chat" | "dnd" | "xa";

export interface XmppPresenceView {
  /** false → send presence type='unavailable'. */
  readonly available: boolean;
  readonly show?: XmppShow;
  readonly status?: string;
  /** XEP-0319 <idle since>, when the viewer may see "last active" and the user is idle/away/offline. */
  readonly idleSince?: number;
}

const SHOW: Readonly<Record<AvailabilityClass, XmppShow | undefined | "unavailable">> = Object.freeze({
  unknown: "unavailable",
  available: undefined,
  "available-idle": "away",
  busy: "dnd",
  "busy-idle": "dnd",
  dnd: "dnd",
  brb: "away",
  away: "xa",
  offline: "unavailable",
});

/** The class a standard client means by each <show/> (wire.ts decodePresence), and by 'unavailable'. */
const SHOW_SAYS: Readonly<Record<XmppShow | "none" | "unavailable", AvailabilityClass>> = Object.freeze({
  none: "available",
  chat: "available",
  away: "brb",
  xa: "away",
  dnd: "busy",
  unavailable: "offline",
});

/**
 * The faithful RFC 6121 rendering for standard clients:
 *   Available → (no show); Inactive → away; Busy, Busy-idle, DND → dnd; BRB → away;
 *   Away, Off work → xa; Offline, unknown, or no visible availability → unavailable.
 * Status text: the custom state's label, else the class label; then " — " and the activity
 * label when visible ("Busy — In a meeting"); then " · " and the personal note when visible —
 * or the note alone when there is no activity or custom state and the <show/> already says
 * the class the way a standard client means it (none → Available, away → Be right back,
 * xa → Away, dnd → Busy, unavailable → Offline), so a standard client's own status text
 * reaches its contacts unchanged.
 * An unavailable presence carries a status only when there is an activity or a note to show
 * (so Blocked and a real Offline look the same). The user's own resources are never told
 * 'unavailable' while they are online: Appear Offline shows to them as xa "Appear offline".
 */
export function xmppShowStatus(p: PresenceProjection, lang?: string): XmppPresenceView {
  const cls = p.availabilityClass;
  if (p.availability === undefined || cls === undefined) return { available: false };
  if (p.level === "self" && p.appearOffline === true) {
    const label = pickLabel(APPEAR_OFFLINE_LABELS, lang) ?? "Appear offline";
    return Object.freeze({ available: true, show: "xa", status: p.note !== undefined ? label + " · " + p.note : label });
  }
  const show = SHOW[cls];
  const head = p.custom !== undefined ? customStateLabel(p.custom, lang) : classLabel(cls, lang);
  let text = head;
  if (p.activity !== undefined) text += " — " + activityLabel(p.activity, lang);
  if (p.note !== undefined) {
    // The note alone when the show says everything the label would (a standard client's own
    // "away" + "lunch" comes back as exactly that, RFC 6121 §4.7.2.2); else "label · note".
    const saysAll = p.activity === undefined && p.custom === undefined && SHOW_SAYS[show ?? "none"] === cls;
    text = saysAll ? p.note : text + " · " + p.note;
  }
  const idleSince = p.lastActive !== undefined && cls !== "available" && cls !== "busy" && cls !== "dnd" ? p.lastActive : undefined;
  const out: Mutable<XmppPresenceView> = { available: show !== "unavailable" };
  if (show === "unavailable") {
    if (p.activity !== undefined || p.note !== undefined) out.status = text;
  } else {
    if (show !== undefined) out.show = show;
    out.status = text;
  }
  if (idleSince !== undefined) out.idleSince = idleSince;
  return Object.freeze(out);
}
