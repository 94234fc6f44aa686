// The calendar engine: polls users' feeds and keeps, per user, the expanded window of the
// occurrences that matter (busy meetings and out-of-office blocks), the current meeting and a
// deadline for the next meeting boundary.
//
// - Only users with a feed are known here. Polls are spread over the interval: at start each
//   feed gets a random slot in [0, interval), after each fetch the next one comes after
//   interval ± 10 % (longer after consecutive failures: ×2, ×4, ×8 at most).
// - At most `maxConcurrent` fetches run at once; the rest wait in a FIFO queue (a user asking
//   for a fetch — by setting their feed — goes first). One user never has two fetches at once.
// - One TimerScheduler holds every deadline (polls and meeting boundaries): one timer in all.
// - Memory per user is the window only (at most MAX_ITEMS occurrences); occurrences that
//   ended are dropped at each boundary.
// - Conditional GET only while the kept window still reaches at least six days ahead: once a
//   day per feed the full body is fetched again so the window slides.
import type { CalendarFeedRecord, CalendarStore, FetchOutcome } from "./store/types.ts";
import { currentMeeting, isMeeting, nextChange, sameMeeting, type CalendarEvent, type Meeting, type ShowAs } from "./meetings.ts";
import type { FetchFeedResult } from "./fetch-feed.ts";
import type { ParseResult } from "./parse.ts";
import { TimerScheduler, systemClock, type Clock } from "./scheduler.ts";
import type { CalendarFeedInfo } from "./service.ts";

export const DAY_MS = 86_400_000;
/** The window kept: from a day behind (meetings still running) to a week ahead. */
export const WINDOW_BEHIND_MS = DAY_MS;
export const WINDOW_AHEAD_MS = 7 * DAY_MS;
/** Occurrences kept per user. */
export const MAX_ITEMS = 500;
const MAX_BACKOFF = 8;
/**
 * A user's own requests jump the queue at most this often; more frequent ones wait in line
 * with the periodic polls (one user cannot keep the fetch slots busy by re-setting a feed).
 */
export const URGENT_GAP_MS = 5000;

export type FeedFetcher = (url: string, validators: { etag?: string; lastModified?: string }, signal: AbortSignal) => Promise<FetchFeedResult>;
export type FeedParser = (body: string, from: Date, to: Date) => ParseResult;

export interface EngineLog {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface EngineOptions {
  store: CalendarStore;
  fetch: FeedFetcher;
  parse: FeedParser;
  pollIntervalMs: number;
  maxConcurrent: number;
  onChanged(user: string, meeting: Meeting | undefined, previous: Meeting | undefined): void;
  onUpdated?(user: string): void;
  /** Error texts that may be shown to the user; anything else is logged and shown generically. */
  describeError(err: unknown): string | undefined;
  log: EngineLog;
  clock?: Clock;
  random?: () => number;
}

interface UserState {
  url: string;
  /** Bumped whenever the URL changes or the feed is removed: a fetch started before is stale. */
  gen: number;
  items: CalendarEvent[];
  windowEnd?: number;
  etag?: string;
  lastModified?: string;
  status: "pending" | "ok" | "error";
  error?: string;
  lastFetch?: Date;
  lastSuccess?: Date;
  failures: number;
  current: Meeting | undefined;
}

/** Occurrences worth keeping: meetings (busy, timed) and out-of-office blocks. */
export function relevant(e: CalendarEvent): boolean {
  return isMeeting(e) || e.showAs === "oof";
}

interface Encoded {
  s: number;
  e: number;
  t?: string;
  l?: string;
  b?: ShowAs;
  a?: 1;
}

export function encodeItems(items: readonly CalendarEvent[]): string {
  return JSON.stringify(
    items.map((i) => {
      const o: Encoded = { s: i.start.getTime(), e: i.end.getTime() };
      if (i.subject) o.t = i.subject;
      if (i.location) o.l = i.location;
      if (i.showAs !== "busy") o.b = i.showAs;
      if (i.allDay) o.a = 1;
      return o;
    }),
  );
}

const SHOW_AS = new Set<ShowAs>(["busy", "tentative", "free", "oof", "working-elsewhere"]);

export function decodeItems(json: string): CalendarEvent[] {
  const raw = JSON.parse(json) as unknown;
  if (!Array.isArray(raw)) return [];
  const out: CalendarEvent[] = [];
  for (const r of raw as Encoded[]) {
    if (typeof r !== "object" || r === null || !Number.isFinite(r.s) || !Number.isFinite(r.e)) continue;
    out.push({
      start: new Date(r.s),
      end: new Date(r.e),
      subject: typeof r.t === "string" ? r.t : "",
      location: typeof r.l === "string" ? r.l : "",
      showAs: r.b !== undefined && SHOW_AS.has(r.b) ? r.b : "busy",
      allDay: r.a === 1,
    });
    if (out.length >= MAX_ITEMS) break;
  }
  return out;
}

function sameItems(a: readonly CalendarEvent[], b: readonly CalendarEvent[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (
      x.start.getTime() !== y.start.getTime() ||
      x.end.getTime() !== y.end.getTime() ||
      x.subject !== y.subject ||
      x.location !== y.location ||
      x.showAs !== y.showAs ||
      x.allDay !== y.allDay
    ) {
      return false;
    }
  }
  return true;
}

type Key = `p${string}` | `b${string}`;

/** An array queue with a moving head (shift in O(1) amortised). */
class FifoQueue {
  #items: string[] = [];
  #head = 0;
  push(v: string): void {
    this.#items.push(v);
  }
  shift(): string | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const v = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return v;
  }
}

export class CalendarEngine {
  readonly #o: EngineOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #users = new Map<string, UserState>();
  readonly #timers: TimerScheduler<Key>;
  /**
   * Users waiting for a fetch slot: users' own requests (setting a feed, refresh) first, then
   * the periodic polls, each in arrival order. `#queued` says which queue holds a user; an
   * entry in the other queue is stale and skipped.
   */
  readonly #urgent = new FifoQueue();
  readonly #polls = new FifoQueue();
  readonly #queued = new Map<string, "urgent" | "poll">();
  /** When each user last jumped the queue. */
  readonly #lastUrgent = new Map<string, number>();
  /** Users being fetched now, with their abort handles. */
  readonly #active = new Map<string, AbortController>();
  /** Users to fetch again as soon as their running fetch ends. */
  readonly #again = new Set<string>();
  /** Callers waiting for the next fetch of a user to end (taken over when it starts). */
  readonly #waiters = new Map<string, Array<() => void>>();
  /** Callers waiting for the running fetch of a user to end. */
  readonly #running = new Map<string, Array<() => void>>();
  #gen = 0;
  #stopped = false;
  /** Highest number of fetches seen running at once (tests and metrics). */
  peakConcurrent = 0;
  /** Fetches started (tests and metrics). */
  fetches = 0;

  constructor(o: EngineOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#random = o.random ?? Math.random;
    this.#timers = new TimerScheduler<Key>((key, at) => this.#due(key, at), this.#clock);
  }

  /** Loads every stored feed and schedules its first poll at a random point of the interval. */
  async start(): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const page = await this.#o.store.list({ after, limit: 1000 });
      if (page.length === 0) break;
      for (const rec of page) this.#load(rec);
      after = page[page.length - 1].owner;
    }
  }

  #load(rec: CalendarFeedRecord): void {
    const now = this.#clock.now();
    let items: CalendarEvent[] = [];
    if (rec.snapshot) {
      try {
        items = decodeItems(rec.snapshot.events).filter((i) => i.end.getTime() > now);
      } catch (err) {
        this.#o.log.warn({ err, user: rec.owner }, "unreadable stored calendar window ignored");
      }
    }
    const st: UserState = {
      url: rec.url,
      gen: ++this.#gen,
      items,
      status: rec.status,
      failures: rec.status === "error" ? 1 : 0,
      current: undefined,
    };
    if (rec.snapshot) st.windowEnd = rec.snapshot.to.getTime();
    if (rec.etag !== undefined) st.etag = rec.etag;
    if (rec.lastModified !== undefined) st.lastModified = rec.lastModified;
    if (rec.error !== undefined) st.error = rec.error;
    if (rec.lastFetch) st.lastFetch = rec.lastFetch;
    if (rec.lastSuccess) st.lastSuccess = rec.lastSuccess;
    st.current = currentMeeting(items, new Date(now));
    this.#users.set(rec.owner, st);
    this.#scheduleBoundary(rec.owner, st, now);
    this.#timers.set(`p${rec.owner}`, now + this.#random() * this.#o.pollIntervalMs);
  }

  stop(): void {
    this.#stopped = true;
    this.#timers.stop();
    for (const ac of this.#active.values()) ac.abort();
    for (const list of [...this.#waiters.values(), ...this.#running.values()]) for (const w of list) w();
    this.#waiters.clear();
    this.#running.clear();
  }

  /** Users with a feed. */
  get size(): number {
    return this.#users.size;
  }

  /** Deadlines held by the single scheduler (tests). */
  get timers(): number {
    return this.#timers.size;
  }

  has(user: string): boolean {
    return this.#users.has(user);
  }

  current(user: string): Meeting | undefined {
    return this.#users.get(user)?.current;
  }

  items(user: string): readonly CalendarEvent[] {
    const st = this.#users.get(user);
    if (!st) return [];
    const now = this.#clock.now();
    return st.items.filter((i) => i.end.getTime() > now);
  }

  info(user: string): CalendarFeedInfo | undefined {
    const st = this.#users.get(user);
    if (!st) return undefined;
    const out: { -readonly [K in keyof CalendarFeedInfo]: CalendarFeedInfo[K] } = { url: st.url, status: st.status };
    if (st.error !== undefined) out.error = st.error;
    if (st.lastFetch) out.lastFetch = st.lastFetch;
    if (st.lastSuccess) out.lastSuccess = st.lastSuccess;
    return out;
  }

  /** Stores the feed URL; a new URL drops the old window and is fetched first thing. */
  async setFeed(user: string, url: string): Promise<void> {
    const changed = await this.#o.store.set(user, url, new Date(this.#clock.now()));
    const st = this.#users.get(user);
    if (!changed && st && st.url === url) return;
    if (!changed) {
      // Same URL in the store but not in memory (another node set it, or a restart raced).
      const rec = await this.#o.store.get(user);
      if (rec) this.#load(rec);
      this.#request(user);
      return;
    }
    const fresh: UserState = { url, gen: ++this.#gen, items: [], status: "pending", failures: 0, current: undefined };
    this.#users.set(user, fresh);
    this.#timers.delete(`b${user}`);
    if (st && st.current) this.#o.onChanged(user, undefined, st.current);
    if (st && st.items.length) this.#o.onUpdated?.(user);
    this.#request(user);
  }

  async removeFeed(user: string): Promise<boolean> {
    const removed = await this.#o.store.remove(user);
    const st = this.#users.get(user);
    if (!st) return removed;
    this.#users.delete(user);
    this.#timers.delete(`p${user}`);
    this.#timers.delete(`b${user}`);
    this.#active.get(user)?.abort();
    this.#again.delete(user);
    this.#queued.delete(user);
    for (const w of this.#waiters.get(user) ?? []) w();
    this.#waiters.delete(user);
    if (st.current) this.#o.onChanged(user, undefined, st.current);
    if (st.items.length) this.#o.onUpdated?.(user);
    return true;
  }

  /** Fetches the user's feed ahead of its turn; resolves when that fetch has ended. */
  refresh(user: string): Promise<void> {
    if (!this.#users.has(user) || this.#stopped) return Promise.resolve();
    const p = new Promise<void>((resolve) => {
      let list = this.#waiters.get(user);
      if (!list) this.#waiters.set(user, (list = []));
      list.push(resolve);
    });
    this.#request(user);
    return p;
  }

  /**
   * Resolves when the fetch running or queued for the user has ended (at once when there is
   * none). Unlike refresh() it never asks for a fetch.
   */
  settled(user: string): Promise<void> {
    const running = this.#running.get(user);
    const queued = this.#queued.has(user) || this.#again.has(user);
    if (!running && !queued) return Promise.resolve();
    return new Promise<void>((resolve) => {
      if (running && !queued) {
        running.push(resolve);
        return;
      }
      let list = this.#waiters.get(user);
      if (!list) this.#waiters.set(user, (list = []));
      list.push(resolve);
    });
  }

  #request(user: string): void {
    if (this.#active.has(user)) {
      this.#again.add(user);
      return;
    }
    this.#timers.delete(`p${user}`);
    this.#enqueue(user, this.#mayJump(user));
  }

  #mayJump(user: string): boolean {
    const now = this.#clock.now();
    const last = this.#lastUrgent.get(user);
    if (last !== undefined && now - last < URGENT_GAP_MS) return false;
    if (this.#lastUrgent.size >= 10_000) {
      for (const [u, t] of this.#lastUrgent) if (now - t >= URGENT_GAP_MS) this.#lastUrgent.delete(u);
    }
    this.#lastUrgent.set(user, now);
    return true;
  }

  #due(key: Key, at: number): void {
    const user = key.slice(1);
    if (key[0] === "p") this.#enqueue(user, false);
    else this.#evaluate(user, Math.max(at, this.#clock.now()));
  }

  #enqueue(user: string, urgent: boolean): void {
    if (this.#stopped || !this.#users.has(user)) return;
    const where = this.#queued.get(user);
    if (where === "urgent" || (where === "poll" && !urgent)) return;
    this.#queued.set(user, urgent ? "urgent" : "poll");
    (urgent ? this.#urgent : this.#polls).push(user);
    this.#pump();
  }

  #next(): string | undefined {
    for (const [q, name] of [
      [this.#urgent, "urgent"],
      [this.#polls, "poll"],
    ] as const) {
      for (let u = q.shift(); u !== undefined; u = q.shift()) {
        if (this.#queued.get(u) !== name) continue; // moved to the urgent queue, or removed
        this.#queued.delete(u);
        return u;
      }
    }
    return undefined;
  }

  #pump(): void {
    while (!this.#stopped && this.#active.size < this.#o.maxConcurrent) {
      const user = this.#next();
      if (user === undefined) return;
      if (!this.#users.has(user)) continue;
      if (this.#active.has(user)) {
        this.#again.add(user);
        continue;
      }
      void this.#fetch(user);
    }
  }

  async #fetch(user: string): Promise<void> {
    const st = this.#users.get(user)!;
    const gen = st.gen;
    const url = st.url;
    const ac = new AbortController();
    this.#active.set(user, ac);
    this.fetches++;
    this.peakConcurrent = Math.max(this.peakConcurrent, this.#active.size);
    const waiters = this.#waiters.get(user) ?? [];
    this.#waiters.delete(user);
    this.#running.set(user, waiters);
    try {
      await this.#fetchOnce(user, st, gen, url, ac.signal);
    } catch (err) {
      this.#o.log.error({ err, user }, "calendar fetch bookkeeping failed");
    } finally {
      this.#active.delete(user);
      this.#running.delete(user);
      for (const w of waiters) w();
      const cur = this.#users.get(user);
      if (cur && !this.#stopped) {
        if (this.#again.delete(user)) this.#enqueue(user, this.#mayJump(user));
        else if (this.#timers.get(`p${user}`) === undefined) this.#schedulePoll(user, cur);
      } else {
        this.#again.delete(user);
      }
      this.#pump();
    }
  }

  async #fetchOnce(user: string, st: UserState, gen: number, url: string, signal: AbortSignal): Promise<void> {
    const started = this.#clock.now();
    const conditional = st.windowEnd !== undefined && st.windowEnd - started >= WINDOW_AHEAD_MS - DAY_MS;
    const validators = conditional ? { ...(st.etag ? { etag: st.etag } : {}), ...(st.lastModified ? { lastModified: st.lastModified } : {}) } : {};
    let outcome: FetchOutcome;
    let newItems: CalendarEvent[] | undefined;
    let next: Partial<UserState> = {};
    try {
      const r = await this.#o.fetch(url, validators, signal);
      if (this.#stale(user, st, gen)) return;
      const at = new Date(this.#clock.now());
      if (r.status === "not-modified") {
        outcome = { at, status: "ok" };
      } else {
        const now = this.#clock.now();
        const from = new Date(now - WINDOW_BEHIND_MS);
        const to = new Date(now + WINDOW_AHEAD_MS);
        const parsed = this.#o.parse(r.body, from, to);
        if (parsed.truncated) this.#o.log.debug({ user }, "calendar feed expansion hit a limit; the window is incomplete");
        newItems = parsed.events.filter(relevant).slice(0, MAX_ITEMS);
        outcome = {
          at,
          status: "ok",
          validators: { ...(r.etag ? { etag: r.etag } : {}), ...(r.lastModified ? { lastModified: r.lastModified } : {}) },
          snapshot: { events: encodeItems(newItems), from, to },
        };
        next = { windowEnd: to.getTime(), etag: r.etag, lastModified: r.lastModified };
      }
      next = { ...next, status: "ok", error: undefined, failures: 0, lastSuccess: at, lastFetch: at };
    } catch (err) {
      if (this.#stale(user, st, gen)) return;
      const at = new Date(this.#clock.now());
      let text = this.#o.describeError(err);
      if (text === undefined) {
        this.#o.log.error({ err, user }, "calendar feed failed unexpectedly");
        text = "the feed could not be read (internal error)";
      }
      outcome = { at, status: "error", error: text };
      next = { status: "error", error: text, failures: st.failures + 1, lastFetch: at };
    }
    Object.assign(st, next);
    if (newItems !== undefined) {
      const changed = !sameItems(st.items, newItems);
      st.items = newItems;
      if (changed) this.#o.onUpdated?.(user);
    }
    this.#evaluate(user, this.#clock.now());
    try {
      await this.#o.store.recordFetch(user, url, outcome);
    } catch (err) {
      this.#o.log.error({ err, user }, "could not store the calendar fetch outcome");
    }
  }

  #stale(user: string, st: UserState, gen: number): boolean {
    return this.#stopped || this.#users.get(user) !== st || st.gen !== gen;
  }

  #schedulePoll(user: string, st: UserState): void {
    const factor = st.failures > 0 ? Math.min(2 ** (st.failures - 1), MAX_BACKOFF) : 1;
    const jitter = 0.9 + 0.2 * this.#random();
    this.#timers.set(`p${user}`, this.#clock.now() + this.#o.pollIntervalMs * factor * jitter);
  }

  /** Recomputes the current meeting at `now`, fires `changed` if it differs, re-arms the boundary. */
  #evaluate(user: string, now: number): void {
    const st = this.#users.get(user);
    if (!st) return;
    if (st.items.some((i) => i.end.getTime() <= now)) st.items = st.items.filter((i) => i.end.getTime() > now);
    const meeting = currentMeeting(st.items, new Date(now));
    const previous = st.current;
    st.current = meeting;
    this.#scheduleBoundary(user, st, now);
    if (!sameMeeting(meeting, previous)) this.#o.onChanged(user, meeting, previous);
  }

  #scheduleBoundary(user: string, st: UserState, now: number): void {
    const at = nextChange(st.items, new Date(now));
    if (at) this.#timers.set(`b${user}`, at.getTime());
    else this.#timers.delete(`b${user}`);
  }
}
