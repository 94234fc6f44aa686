// The module contract. A module registers only through its context; everything it registers
// (hooks, IQ handlers, disco features, timers, services) is removed by the core on unload.
import type { HookBus, HandleEvent, NotifyEvent, FoldEvent, HandleHandler, NotifyHandler, FoldHandler } from "../hooks/hooks.ts";
import { Priority } from "../hooks/hooks.ts";
import { Element } from "../../xml/element.ts";
import type { Logger } from "../log/logger.ts";
import type { Router } from "../router/router.ts";
import type { SessionRegistry } from "../session/registry.ts";
import type { Database } from "../storage/database.ts";
import type { ParleyConfig } from "../config/config.ts";
import { iqEvent, type IqTarget, type StanzaPayload } from "../router/stanza-events.ts";
import { StanzaError } from "../errors.ts";
import { resultFor } from "../router/router.ts";

/** A typed handle for a service one module provides and others use. */
export interface ServiceToken<T> {
  readonly name: string;
  readonly _type?: T;
}
export function defineService<T>(name: string): ServiceToken<T> {
  return Object.freeze({ name }) as ServiceToken<T>;
}

/** Everything a host (one served domain) offers to modules. */
export interface HostServices {
  readonly domain: string;
  readonly config: ParleyConfig;
  readonly hooks: HookBus;
  readonly router: Router;
  readonly sessions: SessionRegistry;
  readonly db: Database;
  readonly log: Logger;
  readonly disco: DiscoRegistry;
}

export interface DiscoIdentity {
  category: string;
  type: string;
  name?: string;
}

/** Server-level disco#info contents (XEP-0030), filled by modules. */
export class DiscoRegistry {
  readonly features = new Set<string>();
  readonly identities: DiscoIdentity[] = [];
  /** Features advertised on user accounts' bare JIDs. */
  readonly accountFeatures = new Set<string>();
  /** Identities advertised on user accounts' bare JIDs besides account/registered (e.g. pubsub/pep). */
  readonly accountIdentities: DiscoIdentity[] = [];
}

export type IqHandler = (p: StanzaPayload, payload: Element) => Element | null | void | Promise<Element | null | void>;

export interface ModuleContext {
  readonly id: string;
  readonly host: HostServices;
  readonly domain: string;
  readonly config: ParleyConfig;
  readonly log: Logger;
  readonly router: Router;
  readonly sessions: SessionRegistry;
  readonly db: Database;
  on<P>(event: HandleEvent<P>, fn: HandleHandler<P>, priority?: number): void;
  on<P>(event: NotifyEvent<P>, fn: NotifyHandler<P>, priority?: number): void;
  on<V, C>(event: FoldEvent<V, C>, fn: FoldHandler<V, C>, priority?: number): void;
  /** Answers `iq-<type>/<target>/<ns>:<name>`: return the result payload (or null), or throw StanzaError. */
  iq(type: "get" | "set", target: IqTarget | IqTarget[], ns: string, name: string, handler: IqHandler): void;
  /** Advertises a feature in the server's disco#info (and optionally on accounts). */
  feature(ns: string, opts?: { account?: boolean; server?: boolean }): void;
  provide<T>(token: ServiceToken<T>, impl: T): void;
  use<T>(token: ServiceToken<T>): T;
  /** setInterval that is cleared on unload; the callback's errors are logged. */
  every(ms: number, fn: () => void | Promise<void>): void;
  /** Runs when the module unloads (server stop), after its registrations are removed. */
  onUnload(fn: () => void | Promise<void>): void;
}

export interface ModuleDefinition {
  readonly id: string;
  /** Services this module needs; the loader orders modules so providers set up first. */
  readonly requires?: readonly ServiceToken<unknown>[];
  /** Services this module provides (declared so the loader can order without running setup). */
  readonly provides?: readonly ServiceToken<unknown>[];
  setup(ctx: ModuleContext): void | Promise<void>;
}

export function defineModule(def: ModuleDefinition): ModuleDefinition {
  return def;
}

export { Priority };

/** Builds IQ replies: sent straight to the requesting session when there is one. */
function replyTo(p: StanzaPayload, reply: Element, router: Router): void | Promise<void> {
  if (p.origin && p.stanza.attrs.from === p.origin.full) {
    p.origin.send(reply);
    return;
  }
  return router.route(reply) as void | Promise<void>;
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === "object" && v !== null && typeof (v as Promise<unknown>).then === "function";
}

/** Turns an IQ handler's outcome into a result or error reply. */
export function runIqHandler(p: StanzaPayload, payload: Element, handler: IqHandler, router: Router, log: Logger): boolean | Promise<boolean> {
  const onError = (err: unknown): boolean | Promise<boolean> => {
    const stanzaErr =
      err instanceof StanzaError ? err : new StanzaError("internal-server-error", "the server failed to process this request");
    if (!(err instanceof StanzaError)) log.error({ err, iq: p.stanza.toString() }, "IQ handler failed");
    const reply = new Element("iq", { type: "error" });
    if (p.stanza.attrs.id !== undefined) reply.attrs.id = p.stanza.attrs.id;
    if (p.stanza.attrs.from !== undefined) reply.attrs.to = p.stanza.attrs.from;
    // Answer from the prepared address (a request to LOCALHOST is answered from localhost).
    if (p.stanza.attrs.to !== undefined) reply.attrs.from = p.to.toString();
    else if (p.origin) reply.attrs.from = p.origin.bare;
    reply.children.push(payload, stanzaErr.toElement());
    const r = replyTo(p, reply, router);
    if (isPromise(r)) return r.then(() => true);
    return true;
  };
  const onResult = (result: Element | null | void): boolean | Promise<boolean> => {
    const reply = resultFor(p.stanza, result ?? null, p.stanza.attrs.to !== undefined ? p.to.toString() : undefined);
    if (reply.attrs.from === undefined && p.origin) reply.attrs.from = p.origin.bare;
    const r = replyTo(p, reply, router);
    if (isPromise(r)) return r.then(() => true);
    return true;
  };
  try {
    const r = handler(p, payload);
    if (isPromise(r)) return (r as Promise<Element | null | void>).then(onResult, onError);
    return onResult(r as Element | null | void);
  } catch (err) {
    return onError(err);
  }
}
