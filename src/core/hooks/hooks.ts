// Typed hook bus with named priorities and three dispatch styles.
//  - handle: handlers run by priority until one returns true (stanza routing).
//  - fold:   a value is threaded through; a handler may return DROP to stop it.
//  - notify: every handler runs; one that throws is logged and isolated.
// Higher priority runs first; equal priority runs in registration order.
// Handlers may be sync or async; sync results are not wrapped in promises on the hot path.

export const Priority = {
  Policy: 1000,
  Rewrite: 500,
  Early: 100,
  Default: 0,
  Late: -100,
  Observe: -500,
  Fallback: -1000,
} as const;
export type PriorityValue = number;

export const DROP: unique symbol = Symbol("drop");
export type Drop = typeof DROP;

type MaybePromise<T> = T | Promise<T>;

export interface HandleEvent<P> {
  readonly kind: "handle";
  readonly name: string;
  readonly _payload?: P;
}
export interface NotifyEvent<P> {
  readonly kind: "notify";
  readonly name: string;
  readonly _payload?: P;
}
export interface FoldEvent<V, C = undefined> {
  readonly kind: "fold";
  readonly name: string;
  readonly _value?: V;
  readonly _context?: C;
}

export type HandleHandler<P> = (payload: P) => MaybePromise<boolean | void>;
export type NotifyHandler<P> = (payload: P) => MaybePromise<void>;
export type FoldHandler<V, C> = (value: V, context: C) => MaybePromise<V | Drop>;

export function defineHandleEvent<P>(name: string): HandleEvent<P> {
  return Object.freeze({ kind: "handle", name }) as HandleEvent<P>;
}
export function defineNotifyEvent<P>(name: string): NotifyEvent<P> {
  return Object.freeze({ kind: "notify", name }) as NotifyEvent<P>;
}
export function defineFoldEvent<V, C = undefined>(name: string): FoldEvent<V, C> {
  return Object.freeze({ kind: "fold", name }) as FoldEvent<V, C>;
}

type AnyEvent = HandleEvent<any> | NotifyEvent<any> | FoldEvent<any, any>;
interface Entry {
  fn: (...args: any[]) => any;
  priority: number;
  seq: number;
  owner: string;
}

export interface HookErrorReporter {
  (err: unknown, event: string, owner: string): void;
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === "object" && v !== null && typeof (v as Promise<unknown>).then === "function";
}

export class HookBus {
  private readonly table = new Map<string, Entry[]>();
  private seq = 0;
  private readonly onError: HookErrorReporter;

  constructor(onError: HookErrorReporter) {
    this.onError = onError;
  }

  /** Registers a handler; returns a function removing it. Prefer ModuleContext.on, which removes on unload. */
  on<P>(event: HandleEvent<P>, fn: HandleHandler<P>, priority?: number, owner?: string): () => void;
  on<P>(event: NotifyEvent<P>, fn: NotifyHandler<P>, priority?: number, owner?: string): () => void;
  on<V, C>(event: FoldEvent<V, C>, fn: FoldHandler<V, C>, priority?: number, owner?: string): () => void;
  on(event: AnyEvent, fn: (...args: any[]) => any, priority: number = Priority.Default, owner = "core"): () => void {
    const list = this.table.get(event.name) ?? [];
    const entry: Entry = { fn, priority, seq: this.seq++, owner };
    // Copy-on-write so a dispatch in progress keeps iterating its own snapshot.
    const next = [...list, entry].sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    this.table.set(event.name, next);
    return () => {
      const cur = this.table.get(event.name);
      if (!cur) return;
      const filtered = cur.filter((e) => e !== entry);
      if (filtered.length) this.table.set(event.name, filtered);
      else this.table.delete(event.name);
    };
  }

  has(event: AnyEvent): boolean {
    return this.table.has(event.name);
  }

  /** Runs handlers until one returns true. Resolves to whether the event was handled. */
  handle<P>(event: HandleEvent<P>, payload: P): MaybePromise<boolean> {
    const list = this.table.get(event.name);
    if (!list) return false;
    return this.runHandle(list, 0, payload);
  }

  private runHandle(list: Entry[], start: number, payload: unknown): MaybePromise<boolean> {
    for (let i = start; i < list.length; i++) {
      const r = list[i].fn(payload);
      if (isPromise(r)) {
        return (r as Promise<boolean | void>).then((v) => (v === true ? true : this.runHandle(list, i + 1, payload)));
      }
      if (r === true) return true;
    }
    return false;
  }

  /**
   * Runs every handler in order; errors are reported and do not stop the others. Returns a
   * promise only when a handler did, so notifications on the hot path stay allocation-free.
   */
  notify<P>(event: NotifyEvent<P>, payload: P): MaybePromise<void> {
    const list = this.table.get(event.name);
    if (!list) return;
    return this.runNotify(list, 0, event.name, payload);
  }

  private runNotify(list: Entry[], start: number, name: string, payload: unknown): MaybePromise<void> {
    for (let i = start; i < list.length; i++) {
      const e = list[i];
      let r: unknown;
      try {
        r = e.fn(payload);
      } catch (err) {
        this.onError(err, name, e.owner);
        continue;
      }
      if (isPromise(r)) {
        return (r as Promise<unknown>).then(
          () => this.runNotify(list, i + 1, name, payload),
          (err) => {
            this.onError(err, name, e.owner);
            return this.runNotify(list, i + 1, name, payload);
          },
        );
      }
    }
  }

  /** Threads a value through the handlers; resolves to DROP if any handler dropped it. */
  async fold<V, C>(event: FoldEvent<V, C>, value: V, context: C): Promise<V | Drop> {
    const list = this.table.get(event.name);
    if (!list) return value;
    let v: V = value;
    for (const e of list) {
      let r = e.fn(v, context);
      if (isPromise(r)) r = await r;
      if (r === DROP) return DROP;
      v = r as V;
    }
    return v;
  }

  /** For diagnostics: every event and its handlers in dispatch order. */
  describe(): Array<{ event: string; handlers: Array<{ owner: string; priority: number }> }> {
    return [...this.table.entries()].map(([event, list]) => ({
      event,
      handlers: list.map((e) => ({ owner: e.owner, priority: e.priority })),
    }));
  }
}
