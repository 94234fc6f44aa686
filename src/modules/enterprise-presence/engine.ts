// The presence engine: per-user inputs (one endpoint per available resource, the stored manual
// state, note and automatic replies, the calendar), aggregate() on every change and at the
// next change time of every online user (one shared scheduler), and a change notification
// only when watchers could see a difference (statesEqual). No XMPP here: the module wires
// sessions, stanzas and fan-out to it. Time comes from the injected Clock.
import { aggregate, statesEqual, type AggregationConfig, type CalendarInput, type EndpointInput, type Meeting, type PresenceInputs, type PresenceState } from "./aggregate.ts";
import { applyManualRequest, applyNoteRequest, type DeviceKind, type ManualState, type NoteState } from "./model.ts";
import type { ClientPresenceUpdate } from "./wire.ts";
import type { Clock } from "./clock.ts";
import { PresenceScheduler, type TimerApi } from "./scheduler.ts";
import type { EnterprisePresenceStore, StoredOutOfOffice, StoredPresence } from "./store/types.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One signed-in endpoint, as the engine keeps it. */
interface Endpoint extends Mutable<EndpointInput> {
  /** The kind the client reported in <device kind>, if any (wins over hints). */
  reportedKind?: DeviceKind;
  /** The kind learnt from XEP-0115 identities (mobile for phone/handheld), if any. */
  capsKind?: DeviceKind;
  /** From the transport: web for WebSocket, desktop otherwise. */
  defaultKind: DeviceKind;
}

export interface UserRecord {
  readonly user: string;
  readonly endpoints: Map<string, Endpoint>;
  stored: StoredPresence;
  state: PresenceState;
  /** The last standard presence said <show>chat</show> (rendered while Available). */
  freeForChat: boolean;
}

export interface PresenceChange {
  readonly user: string;
  readonly state: PresenceState;
  readonly previous: PresenceState;
}

export interface EngineDeps {
  readonly clock: Clock;
  readonly store: EnterprisePresenceStore;
  readonly aggregation: AggregationConfig;
  /** The user's calendar items (current and upcoming), when a calendar is wired. */
  readonly calendar?: (user: string) => readonly Meeting[] | undefined;
  /** Called after every change watchers could see (awaited). */
  readonly onChanged: (change: PresenceChange) => void | Promise<void>;
  readonly onError: (err: unknown, user: string) => void;
  readonly timers?: TimerApi;
}

export interface EndpointMeta {
  /** From the transport: web (WebSocket) or desktop. */
  readonly defaultKind: DeviceKind;
  /** The presence said <show>chat</show> (standard clients only). */
  readonly freeForChat?: boolean;
  /** The kind its verified capabilities say (mobile for phone/handheld), when already known. */
  readonly capsKind?: DeviceKind;
}

function sameManual(a: ManualState | undefined, b: ManualState | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.mode === b.mode && a.customStateId === b.customStateId && a.setAt === b.setAt && a.until === b.until && a.setBy === b.setBy;
}

function sameNote(a: NoteState | undefined, b: NoteState | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.text === b.text && a.setBy === b.setBy;
}

export class PresenceEngine {
  private readonly records = new Map<string, UserRecord>();
  private readonly loading = new Map<string, Promise<UserRecord>>();
  /** Per-user serialisation of store writes (the latest values are always written). */
  private readonly writes = new Map<string, Promise<void>>();
  readonly scheduler: PresenceScheduler;
  private readonly deps: EngineDeps;

  constructor(deps: EngineDeps) {
    this.deps = deps;
    this.scheduler = new PresenceScheduler(
      deps.clock,
      (users) => {
        for (const u of users) void this.recompute(u).catch((err) => deps.onError(err, u));
      },
      deps.timers,
    );
  }

  get now(): number {
    return this.deps.clock.now();
  }

  /** Users whose records are in memory (online, or being loaded). */
  get size(): number {
    return this.records.size;
  }

  /** The record of a user kept in memory (online users), if loaded. */
  peek(user: string): UserRecord | undefined {
    return this.records.get(user);
  }

  /** Current aggregate of a user kept in memory. */
  current(user: string): PresenceState | undefined {
    return this.records.get(user)?.state;
  }

  /** Loads a user's record and keeps it in memory (until release()). */
  retain(user: string): Promise<UserRecord> {
    const r = this.records.get(user);
    if (r) return Promise.resolve(r);
    let p = this.loading.get(user);
    if (!p) {
      p = this.read(user).then(
        (rec) => {
          this.loading.delete(user);
          const existing = this.records.get(user);
          if (existing) return existing;
          this.records.set(user, rec);
          this.scheduler.schedule(user, rec.state.nextChangeAt);
          return rec;
        },
        (err: unknown) => {
          this.loading.delete(user);
          throw err;
        },
      );
      this.loading.set(user, p);
    }
    return p;
  }

  /** Forgets a user's in-memory record (their last session ended). */
  release(user: string): void {
    const rec = this.records.get(user);
    if (!rec || rec.endpoints.size > 0) return;
    this.records.delete(user);
    this.scheduler.schedule(user, undefined);
  }

  /** The aggregate of any user: from memory when online, else computed from storage. */
  async stateOf(user: string): Promise<PresenceState> {
    const r = this.records.get(user) ?? (await this.loading.get(user)) ?? (await this.read(user));
    return r.state;
  }

  /** The stored settings of any user (privacy mode, automatic replies …). */
  async storedOf(user: string): Promise<StoredPresence> {
    const r = this.records.get(user) ?? (await this.loading.get(user));
    if (r) return r.stored;
    return (await this.deps.store.get(user)) ?? { privacyMode: false };
  }

  /**
   * A resource's available presence, decoded: updates its endpoint, the manual state and the
   * note (persisted when they change), then recomputes. Resolves to whether watchers saw a change.
   */
  async clientPresence(user: string, resource: string, update: ClientPresenceUpdate, meta: EndpointMeta): Promise<boolean> {
    const rec = await this.retain(user);
    const now = this.now;
    const prev = rec.endpoints.get(resource);
    const rep = update.endpoint;
    const ep: Endpoint = { id: resource, kind: meta.defaultKind, defaultKind: meta.defaultKind };
    if (rep.kind !== undefined) ep.reportedKind = rep.kind;
    const capsKind = meta.capsKind ?? prev?.capsKind;
    if (capsKind !== undefined) ep.capsKind = capsKind;
    ep.kind = ep.reportedKind ?? ep.capsKind ?? ep.defaultKind;
    if (rep.idleSince !== undefined) ep.idleSince = rep.idleSince;
    if (prev?.backgroundSince !== undefined) ep.backgroundSince = prev.backgroundSince;
    if (rep.state !== undefined && rep.state !== "active") {
      // The time a state was first reported is kept while the client repeats it.
      ep.reported = prev?.reported?.state === rep.state ? prev.reported : { state: rep.state, at: now };
    }
    if (rep.activity !== undefined) ep.activity = rep.activity;
    if (rep.location !== undefined) ep.location = rep.location;
    rec.endpoints.set(resource, ep);
    if (update.standard) rec.freeForChat = meta.freeForChat === true;
    else if (update.manual !== undefined) rec.freeForChat = false;

    let dirty = false;
    if (update.manual !== undefined) {
      const next = applyManualRequest(rec.stored.manual, update.manual, now, resource);
      if (!sameManual(next, rec.stored.manual)) {
        rec.stored = { ...rec.stored, manual: next };
        if (next === undefined) delete rec.stored.manual;
        dirty = true;
      }
    }
    if (update.note !== undefined) {
      const next = applyNoteRequest(rec.stored.note, update.note, resource);
      if (!sameNote(next, rec.stored.note)) {
        rec.stored = { ...rec.stored, note: next };
        if (next === undefined) delete rec.stored.note;
        dirty = true;
      }
    }
    if (dirty) await this.persist(rec);
    return this.recompute(user);
  }

  /** A resource is no longer available. The last one records the sign-out time. */
  async endpointGone(user: string, resource: string): Promise<boolean> {
    const rec = this.records.get(user) ?? (await this.loading.get(user));
    if (!rec || !rec.endpoints.delete(resource)) return false;
    if (rec.endpoints.size === 0) {
      rec.stored = { ...rec.stored, lastSignOutAt: this.now };
      await this.persist(rec);
    }
    return this.recompute(user);
  }

  /** XEP-0352: the client went to the background (since) or came back (undefined). */
  async background(user: string, resource: string, since: number | undefined): Promise<boolean> {
    const ep = this.records.get(user)?.endpoints.get(resource);
    if (!ep) return false;
    if (since === undefined) delete ep.backgroundSince;
    else if (ep.backgroundSince === undefined) ep.backgroundSince = since;
    else return false;
    return this.recompute(user);
  }

  /** The kind of device learnt from its capabilities (XEP-0115 identities). */
  async capsKind(user: string, resource: string, kind: DeviceKind | undefined): Promise<boolean> {
    const ep = this.records.get(user)?.endpoints.get(resource);
    if (!ep || ep.capsKind === kind) return false;
    if (kind === undefined) delete ep.capsKind;
    else ep.capsKind = kind;
    ep.kind = ep.reportedKind ?? ep.capsKind ?? ep.defaultKind;
    return this.recompute(user);
  }

  /** Applies a <set/> that did not come in presence (an IQ, the REST API): manual state and note. */
  async applySet(user: string, update: Pick<ClientPresenceUpdate, "manual" | "note">, by?: string): Promise<boolean> {
    const rec = await this.retain(user);
    const now = this.now;
    let dirty = false;
    if (update.manual !== undefined) {
      const next = applyManualRequest(rec.stored.manual, update.manual, now, by);
      if (!sameManual(next, rec.stored.manual)) {
        rec.stored = { ...rec.stored, manual: next };
        if (next === undefined) delete rec.stored.manual;
        dirty = true;
      }
    }
    if (update.note !== undefined) {
      const next = applyNoteRequest(rec.stored.note, update.note, by);
      if (!sameNote(next, rec.stored.note)) {
        rec.stored = { ...rec.stored, note: next };
        if (next === undefined) delete rec.stored.note;
        dirty = true;
      }
    }
    if (dirty) await this.persist(rec);
    const changed = await this.recompute(user);
    this.release(user);
    return changed;
  }

  /** Privacy mode on or off (persisted; the caller checks the organisation allows it). */
  async setPrivacyMode(user: string, on: boolean): Promise<void> {
    await this.update(user, (s) => ({ ...s, privacyMode: on }));
  }

  /** Automatic replies (out of office) on with an optional note and schedule, or off. */
  async setOutOfOffice(user: string, ooo: StoredOutOfOffice | undefined): Promise<boolean> {
    await this.update(user, (s) => {
      const next = { ...s };
      if (ooo === undefined) delete next.ooo;
      else next.ooo = { ...ooo };
      return next;
    });
    return this.recompute(user);
  }

  /**
   * Recomputes a user's aggregate now (inputs changed, a timer fired, the calendar moved).
   * Schedules the next change; notifies when watchers would see a difference.
   */
  async recompute(user: string): Promise<boolean> {
    const rec = this.records.get(user);
    if (!rec) return false;
    const next = aggregate(this.inputs(rec), this.now, this.deps.aggregation);
    this.scheduler.schedule(user, next.nextChangeAt);
    const previous = rec.state;
    rec.state = next;
    if (statesEqual(previous, next)) return false;
    await this.deps.onChanged({ user, state: next, previous });
    return true;
  }

  /** Recomputes every user in memory (configuration or calendar-wide changes). */
  async recomputeAll(): Promise<void> {
    for (const user of [...this.records.keys()]) await this.recompute(user);
  }

  stop(): void {
    this.scheduler.stop();
  }

  // ---------------------------------------------------------------------------------------

  private inputs(rec: UserRecord): PresenceInputs {
    const s = rec.stored;
    const out: Mutable<PresenceInputs> = { endpoints: [...rec.endpoints.values()] };
    if (s.manual !== undefined) out.manual = s.manual;
    if (s.note !== undefined) out.note = s.note.text;
    if (s.lastSignOutAt !== undefined) out.lastSignOutAt = s.lastSignOutAt;
    const cal = this.calendarInput(rec.user, s.ooo);
    if (cal !== undefined) out.calendar = cal;
    return out;
  }

  private calendarInput(user: string, ooo: StoredOutOfOffice | undefined): CalendarInput | undefined {
    const meetings = this.deps.calendar?.(user);
    if ((meetings === undefined || meetings.length === 0) && ooo === undefined) return undefined;
    const out: Mutable<CalendarInput> = {};
    if (meetings !== undefined && meetings.length > 0) out.meetings = meetings;
    if (ooo !== undefined) out.outOfOffice = ooo;
    return out;
  }

  private async read(user: string): Promise<UserRecord> {
    const stored = (await this.deps.store.get(user)) ?? { privacyMode: false };
    const rec: UserRecord = { user, endpoints: new Map(), stored, state: undefined as unknown as PresenceState, freeForChat: false };
    rec.state = aggregate(this.inputs(rec), this.now, this.deps.aggregation);
    return rec;
  }

  private async update(user: string, fn: (s: StoredPresence) => StoredPresence): Promise<void> {
    const rec = this.records.get(user) ?? (await this.loading.get(user));
    if (rec) {
      rec.stored = fn(rec.stored);
      await this.persist(rec);
      return;
    }
    // Not online: read, change, write (serialised with other writes for the user).
    await this.serial(user, async () => {
      const cur = (await this.deps.store.get(user)) ?? { privacyMode: false };
      await this.deps.store.put(user, fn(cur));
    });
  }

  /** Writes the record's stored part; writes for one user happen in order, the latest values win. */
  private persist(rec: UserRecord): Promise<void> {
    return this.serial(rec.user, () => this.deps.store.put(rec.user, rec.stored));
  }

  private serial(user: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.writes.get(user) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.writes.set(user, tail);
    void tail.then(() => {
      if (this.writes.get(user) === tail) this.writes.delete(user);
    });
    return next;
  }
}
