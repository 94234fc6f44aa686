// The availability model (reference/lync-spec.md §1): Lync's numeric availability ranges and
// canonical values, activity tokens, manual states with expiry, "reset status".
// Pure and deterministic: time is always passed in as `now` (epoch milliseconds).
import { pickLabel } from "./lang.ts";

// ---------------------------------------------------------------------------------------
// Availability numbers

/** Canonical availability values (Lync `ContactAvailability` + 6900 from the Workgroup container). */
export const AVAILABILITY = Object.freeze({
  available: 3500,
  inactive: 5000,
  busy: 6500,
  /** "Urgent interruptions only": how Workgroup members see a DND user (Busy range). */
  urgentOnly: 6900,
  busyIdle: 7500,
  dnd: 9500,
  brb: 12500,
  away: 15500,
  offline: 18500,
});

/** The availability class a number falls in (lync-spec §1.1). */
export type AvailabilityClass =
  | "unknown" // 0–2999
  | "available" // 3000–4499
  | "available-idle" // 4500–5999, shown as "Inactive"
  | "busy" // 6000–7499
  | "busy-idle" // 7500–8999
  | "dnd" // 9000–11999
  | "brb" // 12000–14999
  | "away" // 15000–17999
  | "offline"; // ≥ 18000

export const AVAILABILITY_CLASSES: readonly AvailabilityClass[] = Object.freeze([
  "unknown", "available", "available-idle", "busy", "busy-idle", "dnd", "brb", "away", "offline",
]);

/** [min, max] inclusive of each class; offline is open-ended. */
export const CLASS_RANGES: Readonly<Record<AvailabilityClass, readonly [number, number]>> = Object.freeze({
  unknown: [0, 2999],
  available: [3000, 4499],
  "available-idle": [4500, 5999],
  busy: [6000, 7499],
  "busy-idle": [7500, 8999],
  dnd: [9000, 11999],
  brb: [12000, 14999],
  away: [15000, 17999],
  offline: [18000, Number.MAX_SAFE_INTEGER],
});

/** Canonical number of each class (unknown has none: 0). */
export const CANONICAL: Readonly<Record<AvailabilityClass, number>> = Object.freeze({
  unknown: 0,
  available: AVAILABILITY.available,
  "available-idle": AVAILABILITY.inactive,
  busy: AVAILABILITY.busy,
  "busy-idle": AVAILABILITY.busyIdle,
  dnd: AVAILABILITY.dnd,
  brb: AVAILABILITY.brb,
  away: AVAILABILITY.away,
  offline: AVAILABILITY.offline,
});

/** The class of an availability number; negative, fractional or non-numbers are "unknown". */
export function classOf(n: number): AvailabilityClass {
  if (!Number.isInteger(n) || n < 3000) return "unknown";
  if (n < 4500) return "available";
  if (n < 6000) return "available-idle";
  if (n < 7500) return "busy";
  if (n < 9000) return "busy-idle";
  if (n < 12000) return "dnd";
  if (n < 15000) return "brb";
  if (n < 18000) return "away";
  return "offline";
}

export function isDnd(n: number): boolean {
  return classOf(n) === "dnd";
}

// ---------------------------------------------------------------------------------------
// Activities (lync-spec §1.2)

export type ActivityToken =
  | "in-a-meeting"
  | "in-a-conference"
  | "on-the-phone"
  | "in-presentation"
  | "out-of-office"
  | "urgent-interruptions-only"
  | "off-work";

/** Activities a device (endpoint) reports about itself. */
export type DeviceActivity = "on-the-phone" | "in-a-conference" | "in-presentation";
export const DEVICE_ACTIVITIES: readonly DeviceActivity[] = Object.freeze(["on-the-phone", "in-a-conference", "in-presentation"]);

export interface ActivityInfo {
  /** Who produces it. */
  readonly source: "device" | "calendar" | "user" | "server";
  /** The availability range in which the token applies (Lync's minAvailability/maxAvailability). */
  readonly min: number;
  readonly max: number;
  readonly labels: Readonly<Record<string, string>>;
}

export const ACTIVITIES: Readonly<Record<ActivityToken, ActivityInfo>> = Object.freeze({
  "in-presentation": { source: "device", min: 6000, max: 11999, labels: { en: "Presenting", de: "Präsentiert", fr: "En présentation", "zh-Hant": "簡報中" } },
  "in-a-conference": { source: "device", min: 6000, max: 8999, labels: { en: "In a conference", de: "In einer Konferenz", fr: "En conférence", "zh-Hant": "線上會議中" } },
  "on-the-phone": { source: "device", min: 6000, max: 8999, labels: { en: "In a call", de: "In einem Anruf", fr: "En communication", "zh-Hant": "通話中" } },
  "in-a-meeting": { source: "calendar", min: 6000, max: 8999, labels: { en: "In a meeting", de: "In einer Besprechung", fr: "En réunion", "zh-Hant": "會議中" } },
  "out-of-office": { source: "calendar", min: 0, max: Number.MAX_SAFE_INTEGER, labels: { en: "Out of office", de: "Nicht im Büro", fr: "Absent du bureau", "zh-Hant": "不在辦公室" } },
  "urgent-interruptions-only": { source: "server", min: 6000, max: 7499, labels: { en: "Urgent interruptions only", de: "Nur dringende Unterbrechungen", fr: "Interruptions urgentes uniquement", "zh-Hant": "僅限緊急打擾" } },
  "off-work": { source: "user", min: 15000, max: 17999, labels: { en: "Off work", de: "Nicht bei der Arbeit", fr: "Hors du travail", "zh-Hant": "下班" } },
});

export const ACTIVITY_TOKENS: readonly ActivityToken[] = Object.freeze(Object.keys(ACTIVITIES) as ActivityToken[]);

export function isActivityToken(s: string): s is ActivityToken {
  return Object.hasOwn(ACTIVITIES, s);
}

/** Whether `activity` may be shown together with availability `n` (Lync's min/max rule). */
export function activityApplies(activity: ActivityToken, n: number): boolean {
  const a = ACTIVITIES[activity];
  return n >= a.min && n <= a.max;
}

export const CLASS_LABELS: Readonly<Record<AvailabilityClass, Readonly<Record<string, string>>>> = Object.freeze({
  unknown: { en: "Presence unknown", de: "Status unbekannt", fr: "Statut inconnu", "zh-Hant": "狀態不明" },
  available: { en: "Available", de: "Verfügbar", fr: "Disponible", "zh-Hant": "有空" },
  "available-idle": { en: "Inactive", de: "Inaktiv", fr: "Inactif", "zh-Hant": "非使用中" },
  busy: { en: "Busy", de: "Beschäftigt", fr: "Occupé", "zh-Hant": "忙碌" },
  // Lync shows Busy-idle as plain "Busy" (lync-spec §1.1); the idle part shows as "last active".
  "busy-idle": { en: "Busy", de: "Beschäftigt", fr: "Occupé", "zh-Hant": "忙碌" },
  dnd: { en: "Do not disturb", de: "Nicht stören", fr: "Ne pas déranger", "zh-Hant": "請勿打擾" },
  brb: { en: "Be right back", de: "Bin gleich zurück", fr: "De retour dans un instant", "zh-Hant": "馬上回來" },
  away: { en: "Away", de: "Abwesend", fr: "Absent", "zh-Hant": "離開" },
  offline: { en: "Offline", de: "Offline", fr: "Hors connexion", "zh-Hant": "離線" },
});

/** How a user's own other resources see Appear Offline (they are online, so never 'unavailable'). */
export const APPEAR_OFFLINE_LABELS: Readonly<Record<string, string>> = Object.freeze({
  en: "Appear offline", de: "Als offline anzeigen", fr: "Apparaître hors ligne", "zh-Hant": "顯示為離線",
});

export function classLabel(cls: AvailabilityClass, lang?: string): string {
  return pickLabel(CLASS_LABELS[cls], lang) ?? cls;
}

export function activityLabel(activity: ActivityToken, lang?: string): string {
  return pickLabel(ACTIVITIES[activity].labels, lang) ?? activity;
}

// ---------------------------------------------------------------------------------------
// Endpoints (devices)

/** Machine state of one endpoint (lync-spec §1.4); ordered from most to least active. */
export type MachineState = "active" | "inactive" | "away";
export const MACHINE_ORDER: Readonly<Record<MachineState, number>> = Object.freeze({ active: 0, inactive: 1, away: 2 });

export type DeviceKind = "desktop" | "web" | "mobile";
export const DEVICE_KINDS: readonly DeviceKind[] = Object.freeze(["desktop", "web", "mobile"]);

// ---------------------------------------------------------------------------------------
// Manual (user-chosen) states

/** What a user can choose in the status picker. Custom states map onto available/busy/dnd. */
export type ManualMode = "available" | "busy" | "dnd" | "brb" | "away" | "off-work" | "appear-offline";
export const MANUAL_MODES: readonly ManualMode[] = Object.freeze(["available", "busy", "dnd", "brb", "away", "off-work", "appear-offline"]);

export function isManualMode(s: string): s is ManualMode {
  return (MANUAL_MODES as readonly string[]).includes(s);
}

/** The availability number a manual mode publishes before idle decay. */
export const MANUAL_AVAILABILITY: Readonly<Record<ManualMode, number>> = Object.freeze({
  available: AVAILABILITY.available,
  busy: AVAILABILITY.busy,
  dnd: AVAILABILITY.dnd,
  brb: AVAILABILITY.brb,
  away: AVAILABILITY.away,
  "off-work": AVAILABILITY.away,
  "appear-offline": AVAILABILITY.offline,
});

export interface ManualState {
  readonly mode: ManualMode;
  /** An administrator-defined custom state (its class equals `mode`). */
  readonly customStateId?: string;
  /** When the user chose it (server time). */
  readonly setAt: number;
  /** End time the user chose ("Busy until 17:00"); undefined = the default rule. */
  readonly until?: number;
  /** Endpoint (resource) that set it; standard clients may only reset their own choice. */
  readonly setBy?: string;
}

export interface ManualExpiryConfig {
  /** Manual Busy and DND (custom states bound to them included) end after this long; 0 = never. Default 24 h. */
  readonly busyDndExpiryMs: number;
}

export const DEFAULT_MANUAL_EXPIRY_MS = 24 * 60 * 60 * 1000;

/** Modes that expire by default (Lync's time-bound userState, lync-spec §1.3). */
export function expiresByDefault(mode: ManualMode): boolean {
  return mode === "busy" || mode === "dnd";
}

/**
 * When a manual state stops applying: the user's own end time when given (it replaces the
 * default), else setAt + busyDndExpiryMs for Busy/DND, else never (undefined).
 */
export function manualExpiresAt(m: ManualState, cfg: ManualExpiryConfig): number | undefined {
  if (m.until !== undefined) return m.until;
  if (expiresByDefault(m.mode) && cfg.busyDndExpiryMs > 0) return m.setAt + cfg.busyDndExpiryMs;
  return undefined;
}

/** The manual state if it still applies at `now`, else undefined (expired: the automatic state takes over). */
export function effectiveManual(m: ManualState | undefined, now: number, cfg: ManualExpiryConfig): ManualState | undefined {
  if (!m) return undefined;
  const end = manualExpiresAt(m, cfg);
  return end !== undefined && now >= end ? undefined : m;
}

/** What a client asks for (decoded by wire.ts). */
export type ManualRequest =
  | { readonly kind: "set"; readonly mode: ManualMode; readonly customStateId?: string; readonly until?: number }
  /** "Reset status": remove the manual state, whoever set it. */
  | { readonly kind: "reset" }
  /** A standard client went back to plain "available": remove the manual state only if that endpoint set it. */
  | { readonly kind: "reset-own" };

/** Applies a request to the stored manual state; returns the new one (undefined = automatic). */
export function applyManualRequest(current: ManualState | undefined, req: ManualRequest, now: number, endpoint?: string): ManualState | undefined {
  switch (req.kind) {
    case "reset":
      return undefined;
    case "reset-own":
      return current !== undefined && current.setBy !== undefined && current.setBy === endpoint ? undefined : current;
    case "set": {
      const m: { -readonly [K in keyof ManualState]: ManualState[K] } = { mode: req.mode, setAt: now };
      if (req.customStateId !== undefined) m.customStateId = req.customStateId;
      if (req.until !== undefined) m.until = req.until;
      if (endpoint !== undefined) m.setBy = endpoint;
      return m;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Personal note (user-level, last writer wins)

export interface NoteState {
  readonly text: string;
  readonly setBy?: string;
}

export type NoteRequest =
  | { readonly kind: "set"; readonly text: string }
  | { readonly kind: "clear" }
  /** A standard client's presence without <status>: clears the note only if that endpoint set it. */
  | { readonly kind: "clear-own" };

export function applyNoteRequest(current: NoteState | undefined, req: NoteRequest, endpoint?: string): NoteState | undefined {
  switch (req.kind) {
    case "clear":
      return undefined;
    case "clear-own":
      return current !== undefined && current.setBy !== undefined && current.setBy === endpoint ? undefined : current;
    case "set":
      if (req.text === "") return undefined;
      return endpoint === undefined ? { text: req.text } : { text: req.text, setBy: endpoint };
  }
}
