// Server-side aggregation: all of a user's endpoints + the manual state + the calendar + idle
// timers → ONE computed state (the rules are written down in docs/presence.md, "Aggregation").
// Pure and deterministic: `aggregate(inputs, now, config)` has no clock of its own.
import {
  AVAILABILITY, MACHINE_ORDER, activityApplies, classOf, effectiveManual, manualExpiresAt,
  type ActivityToken, type AvailabilityClass, type DeviceActivity, type DeviceKind, type MachineState,
  type ManualExpiryConfig, type ManualMode, type ManualState, DEFAULT_MANUAL_EXPIRY_MS,
} from "./model.ts";
import { findCustomState, type CustomStateDef } from "./custom-states.ts";

// ---------------------------------------------------------------------------------------
// Inputs

/** One signed-in endpoint (an XMPP resource that sent available presence). */
export interface EndpointInput {
  /** The resource, for tie-breaking and "who set it" rules. */
  readonly id: string;
  readonly kind: DeviceKind;
  /** XEP-0319 `<idle since>`: last user input on this device (clamped to `now`). */
  readonly idleSince?: number;
  /** When a mobile client went to the background (XEP-0352 CSI `<inactive/>`); ignored for desktop/web. */
  readonly backgroundSince?: number;
  /** Our extension: a state the client reports itself (e.g. screen locked → away), server-stamped `at`. */
  readonly reported?: { readonly state: MachineState; readonly at: number };
  /** A call, conference or presentation happening on this device. */
  readonly activity?: DeviceActivity;
  /** Where the device is (free text the user allowed the client to publish). */
  readonly location?: string;
}

export type FreeBusy = "free" | "tentative" | "busy" | "oof" | "working-elsewhere";

export interface Meeting {
  readonly subject?: string;
  readonly location?: string;
  readonly start: number;
  readonly end: number;
  readonly freeBusy: FreeBusy;
  /** A whole-day item: never a meeting (a holiday or a trip is not a meeting); an all-day "oof" is out of office. */
  readonly allDay?: boolean;
}

export interface CalendarInput {
  /** Current and upcoming calendar items (from the last poll). */
  readonly meetings?: readonly Meeting[];
  /** Automatic replies (out of office), optionally scheduled. */
  readonly outOfOffice?: { readonly note?: string; readonly start?: number; readonly end?: number };
}

export interface PresenceInputs {
  readonly endpoints: readonly EndpointInput[];
  readonly manual?: ManualState;
  /** Personal note. */
  readonly note?: string;
  readonly calendar?: CalendarInput;
  /** When the last endpoint signed out (shown as "last active" while offline). */
  readonly lastSignOutAt?: number;
}

// ---------------------------------------------------------------------------------------
// Configuration

export interface AggregationConfig extends ManualExpiryConfig {
  /** No input for this long → Inactive. Default 5 min. */
  readonly inactiveAfterMs: number;
  /** Inactive for this much longer → Away. Default 5 min (Away at 10 min). */
  readonly awayAfterMs: number;
  readonly customStates: readonly CustomStateDef[];
  /** Calendar meetings and out-of-office feed presence (Lync's DisableCalendarPresence = false). */
  readonly calendarPresence: boolean;
  /** Calls, conferences and presentations reported by devices feed presence (DisablePhonePresence = false). */
  readonly devicePresence: boolean;
  /** Meeting subject and place are published (to Workgroup; DisableMeetingSubjectAndLocation = false). */
  readonly meetingDetails: boolean;
}

const MIN = 60_000;

export const DEFAULT_AGGREGATION_CONFIG: AggregationConfig = Object.freeze({
  inactiveAfterMs: 5 * MIN,
  awayAfterMs: 5 * MIN,
  busyDndExpiryMs: DEFAULT_MANUAL_EXPIRY_MS,
  customStates: Object.freeze([]) as readonly CustomStateDef[],
  calendarPresence: true,
  devicePresence: true,
  meetingDetails: true,
});

/**
 * Fills defaults and checks ranges (idle timers 3 s–360 min — the configuration allows
 * fractions of a minute, e.g. for tests; expiry 0 = never, else 1 min–366 days). Throws RangeError.
 */
export function aggregationConfig(partial: Partial<AggregationConfig> = {}): AggregationConfig {
  const c = { ...DEFAULT_AGGREGATION_CONFIG, ...partial };
  const range = (name: string, v: number, minMs: number, maxMs: number) => {
    if (!Number.isInteger(v) || v < minMs || v > maxMs) throw new RangeError(`${name}: ${v} ms is out of range; expected ${minMs}–${maxMs} ms`);
  };
  range("inactiveAfterMs", c.inactiveAfterMs, 3000, 360 * MIN);
  range("awayAfterMs", c.awayAfterMs, 3000, 360 * MIN);
  if (c.busyDndExpiryMs !== 0) range("busyDndExpiryMs", c.busyDndExpiryMs, MIN, 366 * 24 * 60 * MIN);
  return Object.freeze(c);
}

// ---------------------------------------------------------------------------------------
// Output

export interface MeetingInfo {
  readonly subject?: string;
  readonly location?: string;
  readonly start: number;
  readonly end: number;
}

/** Which rule decided the availability (for logs, tests and the docs' tables). */
export type StateSource = "offline" | "appear-offline" | "manual" | "device" | "calendar" | "machine";

export interface PresenceState {
  readonly availability: number;
  readonly class: AvailabilityClass;
  /** At most one activity (lync-spec §1.5). */
  readonly activity?: ActivityToken;
  /** The administrator-defined custom state the user chose, with its labels. */
  readonly custom?: CustomStateDef;
  readonly note?: string;
  readonly oooNote?: string;
  /** End time the user chose for the manual state (never the implicit 24 h expiry). */
  readonly endTime?: number;
  /** Last user input anywhere, reported only when no endpoint is active (or offline: the sign-out time). */
  readonly lastActive?: number;
  /** Location of the most active endpoint, only while availability < 12000. */
  readonly location?: string;
  /** The current calendar meeting (subject/place only reach Workgroup, see privacy.ts). */
  readonly meeting?: MeetingInfo;
  /** Every signed-in endpoint is a mobile device (Lync's "Mobile" hint). */
  readonly mobile: boolean;
  /** Aggregate machine state (most active endpoint). */
  readonly machine: MachineState | "offline";
  /** The user chose Appear Offline (only their own resources learn this). */
  readonly appearOffline: boolean;
  /** The manual mode in effect (only their own resources learn this). */
  readonly manualMode?: ManualMode;
  readonly source: StateSource;
  /** Earliest future time at which this state changes with no new input (timer to set), if any. */
  readonly nextChangeAt?: number;
}

// ---------------------------------------------------------------------------------------
// Endpoint machine state (idle timers)

export interface EndpointMachine {
  readonly state: MachineState;
  /** Last user input, when the endpoint is known to be idle. */
  readonly lastInput?: number;
  /** When the timers will move this endpoint on (Inactive, then Away), if they will. */
  readonly nextChangeAt?: number;
}

/**
 * Idle timers for one endpoint. Last input = the earliest of: XEP-0319 idle-since, background
 * time (mobile only), the time a non-active state was reported. Idle ≥ inactiveAfter → Inactive;
 * ≥ inactiveAfter + awayAfter → Away (thresholds inclusive). A reported state can only make the
 * endpoint less active than the timers say, never more. A device in a call/conference/
 * presentation is active (the user is using it).
 */
export function endpointMachine(ep: EndpointInput, now: number, cfg: Pick<AggregationConfig, "inactiveAfterMs" | "awayAfterMs" | "devicePresence">): EndpointMachine {
  if (ep.activity !== undefined && cfg.devicePresence) return { state: "active" };
  let last: number | undefined;
  const earlier = (t: number | undefined) => {
    if (t === undefined || !Number.isFinite(t)) return;
    const c = Math.min(t, now);
    last = last === undefined ? c : Math.min(last, c);
  };
  earlier(ep.idleSince);
  if (ep.kind === "mobile") earlier(ep.backgroundSince);
  if (ep.reported !== undefined && ep.reported.state !== "active") earlier(ep.reported.at);
  if (last === undefined) return { state: "active" };
  const idle = now - last;
  const toInactive = last + cfg.inactiveAfterMs;
  const toAway = toInactive + cfg.awayAfterMs;
  const timer: MachineState = idle >= cfg.inactiveAfterMs + cfg.awayAfterMs ? "away" : idle >= cfg.inactiveAfterMs ? "inactive" : "active";
  const reported = ep.reported?.state ?? "active";
  const state = MACHINE_ORDER[reported] > MACHINE_ORDER[timer] ? reported : timer;
  let next: number | undefined;
  if (state === "active") next = toInactive;
  else if (state === "inactive") next = toAway;
  return next === undefined ? { state, lastInput: last } : { state, lastInput: last, nextChangeAt: next };
}

// ---------------------------------------------------------------------------------------
// Aggregation

/** Device activity precedence, strongest first. */
const DEVICE_PRECEDENCE: readonly DeviceActivity[] = ["in-presentation", "in-a-conference", "on-the-phone"];

/** Idle decay: Available → Inactive → Away, Busy → Busy-idle; other classes do not decay. */
function decay(base: number, machine: MachineState): number {
  if (machine === "active") return base;
  if (base === AVAILABILITY.available) return machine === "inactive" ? AVAILABILITY.inactive : AVAILABILITY.away;
  if (base === AVAILABILITY.busy) return AVAILABILITY.busyIdle;
  return base;
}

/** Busy, timed, non-empty items make a meeting (same rule as src/modules/calendar/meetings.ts). */
function isMeetingItem(m: Meeting): boolean {
  return m.freeBusy === "busy" && m.allDay !== true && m.end > m.start;
}

/** The meeting now: [start, end); of overlapping ones the one that started last, then ending first, then by subject. */
function currentMeeting(meetings: readonly Meeting[] | undefined, now: number): Meeting | undefined {
  let best: Meeting | undefined;
  for (const m of meetings ?? []) {
    if (!isMeetingItem(m) || !(m.start <= now && now < m.end)) continue;
    if (
      !best || m.start > best.start ||
      (m.start === best.start && (m.end < best.end || (m.end === best.end && (m.subject ?? "") < (best.subject ?? ""))))
    ) best = m;
  }
  return best;
}

export function aggregate(inputs: PresenceInputs, now: number, config: AggregationConfig = DEFAULT_AGGREGATION_CONFIG): PresenceState {
  const next: number[] = [];
  const later = (t: number | undefined) => {
    if (t !== undefined && Number.isFinite(t) && t > now) next.push(t);
  };

  // Manual state (expired → gone).
  const stored = inputs.manual;
  const manual = effectiveManual(stored, now, config);
  if (manual) later(manualExpiresAt(manual, config));
  let custom: CustomStateDef | undefined;
  if (manual?.customStateId !== undefined) {
    const def = findCustomState(config.customStates, manual.customStateId);
    // A custom state the administrator removed (or rebound) falls back to the plain class.
    if (def && def.availability === manual.mode) custom = def;
  }

  // Calendar.
  let meeting: Meeting | undefined;
  let ooo = false;
  let oooNote: string | undefined;
  const cal = config.calendarPresence ? inputs.calendar : undefined;
  if (cal) {
    for (const m of cal.meetings ?? []) {
      if (isMeetingItem(m) || m.freeBusy === "oof") {
        later(m.start);
        later(m.end);
      }
    }
    meeting = currentMeeting(cal.meetings, now);
    const o = cal.outOfOffice;
    if (o) {
      later(o.start);
      later(o.end);
      if ((o.start === undefined || o.start <= now) && (o.end === undefined || now < o.end)) {
        ooo = true;
        if (o.note !== undefined && o.note !== "") oooNote = o.note;
      }
    }
    // An "Out of office" calendar item counts as out of office while it lasts.
    for (const m of cal.meetings ?? []) if (m.freeBusy === "oof" && m.start <= now && now < m.end) ooo = true;
  }

  const nextChangeAt = () => (next.length ? Math.min(...next) : undefined);
  const withOptional = (base: Record<string, unknown>, extra: Record<string, unknown>) => {
    for (const k in extra) if (extra[k] !== undefined) base[k] = extra[k];
    return base;
  };

  // 1–2. Offline: no endpoint, or Appear Offline (indistinguishable from a real sign-out).
  const appearOffline = manual?.mode === "appear-offline";
  if (inputs.endpoints.length === 0 || appearOffline) {
    const s = withOptional(
      { availability: AVAILABILITY.offline, class: "offline", mobile: false, machine: "offline", appearOffline, source: appearOffline ? "appear-offline" : "offline" },
      {
        activity: ooo ? "out-of-office" : undefined,
        note: inputs.note || undefined,
        oooNote,
        lastActive: appearOffline ? manual!.setAt : inputs.lastSignOutAt,
        manualMode: manual?.mode,
        nextChangeAt: nextChangeAt(),
      },
    );
    return Object.freeze(s) as unknown as PresenceState;
  }

  // Endpoints: machine state of each, the most active wins.
  let machine: MachineState = "away";
  let lastInput: number | undefined;
  let deviceActivity: DeviceActivity | undefined;
  let mobile = true;
  const ranked: Array<{ ep: EndpointInput; m: EndpointMachine }> = [];
  for (const ep of inputs.endpoints) {
    const m = endpointMachine(ep, now, config);
    ranked.push({ ep, m });
    if (MACHINE_ORDER[m.state] < MACHINE_ORDER[machine]) machine = m.state;
    if (m.lastInput !== undefined && (lastInput === undefined || m.lastInput > lastInput)) lastInput = m.lastInput;
    later(m.nextChangeAt);
    if (ep.kind !== "mobile") mobile = false;
    if (config.devicePresence && ep.activity !== undefined) {
      if (deviceActivity === undefined || DEVICE_PRECEDENCE.indexOf(ep.activity) < DEVICE_PRECEDENCE.indexOf(deviceActivity)) deviceActivity = ep.activity;
    }
  }

  // The automatic candidate: device activity beats the calendar.
  const auto: ActivityToken | undefined = deviceActivity ?? (meeting ? "in-a-meeting" : undefined);

  let availability: number;
  let activity: ActivityToken | undefined;
  let source: StateSource;
  if (manual) {
    // 3. A manual state overrides calendar and devices. Available/Busy decay with idle time.
    source = "manual";
    switch (manual.mode) {
      case "available": availability = decay(AVAILABILITY.available, machine); break;
      case "busy": availability = decay(AVAILABILITY.busy, machine); break;
      case "dnd": availability = AVAILABILITY.dnd; break;
      case "brb": availability = AVAILABILITY.brb; break;
      case "off-work": availability = AVAILABILITY.away; activity = "off-work"; break;
      default: availability = AVAILABILITY.away; break; // "away" (appear-offline handled above)
    }
    // The automatic activity is still shown when it fits the chosen availability (Busy — In a call).
    if (activity === undefined && auto !== undefined && activityApplies(auto, availability)) activity = auto;
  } else if (auto !== undefined) {
    // 4. Presenting → DND; a call, conference or meeting → Busy (Busy-idle when idle).
    source = deviceActivity !== undefined ? "device" : "calendar";
    availability = auto === "in-presentation" ? AVAILABILITY.dnd : decay(AVAILABILITY.busy, machine);
    activity = auto;
  } else {
    // 5. Machine state: Available → Inactive → Away.
    source = "machine";
    availability = decay(AVAILABILITY.available, machine);
  }
  // 6. Out of office is the fallback activity.
  if (activity === undefined && ooo) activity = "out-of-office";

  // Location: from the most active endpoint that has one, only below 12000 (lync-spec §1.2).
  let location: string | undefined;
  if (availability < 12000) {
    ranked.sort((a, b) => MACHINE_ORDER[a.m.state] - MACHINE_ORDER[b.m.state] || (b.m.lastInput ?? now) - (a.m.lastInput ?? now));
    for (const r of ranked) if (r.ep.location) { location = r.ep.location; break; }
  }

  const s = withOptional(
    { availability, class: classOf(availability), mobile, machine, appearOffline: false, source },
    {
      activity,
      custom,
      note: inputs.note || undefined,
      oooNote,
      endTime: manual?.until,
      lastActive: machine === "active" ? undefined : lastInput,
      location,
      meeting: meeting && config.meetingDetails ? meetingInfo(meeting) : undefined,
      manualMode: manual?.mode,
      nextChangeAt: nextChangeAt(),
    },
  );
  return Object.freeze(s) as unknown as PresenceState;
}

function meetingInfo(m: Meeting): MeetingInfo {
  const out: { -readonly [K in keyof MeetingInfo]: MeetingInfo[K] } = { start: m.start, end: m.end };
  if (m.subject) out.subject = m.subject;
  if (m.location) out.location = m.location;
  return Object.freeze(out);
}

/**
 * How Workgroup members see the state (lync-spec §1.5, container 3): Do Not Disturb becomes
 * 6900 "Urgent interruptions only" (Busy range) so they know they may break through.
 * Presenting keeps its activity. Everything else is unchanged.
 */
export function workgroupView(state: PresenceState): PresenceState {
  if (state.class !== "dnd") return state;
  const activity: ActivityToken = state.activity === "in-presentation" ? "in-presentation" : "urgent-interruptions-only";
  return Object.freeze({ ...state, availability: AVAILABILITY.urgentOnly, class: "busy", activity });
}

/** Equal as watchers would see them (nextChangeAt and source ignored): skip a broadcast when true. */
export function statesEqual(a: PresenceState, b: PresenceState): boolean {
  return (
    a.availability === b.availability && a.activity === b.activity && a.custom?.id === b.custom?.id &&
    a.note === b.note && a.oooNote === b.oooNote && a.endTime === b.endTime && a.lastActive === b.lastActive &&
    a.location === b.location && a.mobile === b.mobile && a.machine === b.machine &&
    a.appearOffline === b.appearOffline && a.manualMode === b.manualMode &&
    a.meeting?.subject === b.meeting?.subject && a.meeting?.location === b.meeting?.location &&
    a.meeting?.start === b.meeting?.start && a.meeting?.end === b.meeting?.end
  );
}

/** Whether IM to this user is held / checked by the DND policy. */
export function isDndState(state: PresenceState): boolean {
  return state.class === "dnd";
}

