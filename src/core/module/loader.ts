// Loads modules in dependency order and tears down everything they registered.
import type { ModuleContext, ModuleDefinition, HostServices, ServiceToken, IqHandler } from "./module.ts";
import { runIqHandler } from "./module.ts";
import { iqEvent, type IqTarget } from "../router/stanza-events.ts";

export class ModuleLoadError extends Error {}

/** Orders modules so that every provider is set up before the modules requiring it. */
export function orderModules(defs: readonly ModuleDefinition[]): ModuleDefinition[] {
  const providerOf = new Map<string, ModuleDefinition>();
  for (const d of defs) {
    for (const t of d.provides ?? []) {
      const prev = providerOf.get(t.name);
      if (prev) throw new ModuleLoadError(`service ${t.name} is provided by both ${prev.id} and ${d.id}`);
      providerOf.set(t.name, d);
    }
  }
  const ordered: ModuleDefinition[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (d: ModuleDefinition, path: string[]): void => {
    const s = state.get(d.id);
    if (s === "done") return;
    if (s === "visiting") throw new ModuleLoadError(`module dependency cycle: ${[...path, d.id].join(" → ")}`);
    state.set(d.id, "visiting");
    for (const t of d.requires ?? []) {
      const p = providerOf.get(t.name);
      if (!p) throw new ModuleLoadError(`module ${d.id} requires service ${t.name}, which no loaded module provides`);
      visit(p, [...path, d.id]);
    }
    state.set(d.id, "done");
    ordered.push(d);
  };
  for (const d of defs) visit(d, []);
  return ordered;
}

export class ModuleHost {
  private readonly host: HostServices;
  private readonly services = new Map<string, unknown>();
  private readonly teardown: Array<{ id: string; fns: Array<() => void | Promise<void>> }> = [];
  readonly loaded: string[] = [];

  constructor(host: HostServices) {
    this.host = host;
  }

  /** Registers a service provided by the composition root (not by a module). */
  provide<T>(token: ServiceToken<T>, impl: T): void {
    this.services.set(token.name, impl);
  }

  get<T>(token: ServiceToken<T>): T {
    if (!this.services.has(token.name)) throw new ModuleLoadError(`service ${token.name} is not available`);
    return this.services.get(token.name) as T;
  }

  tryGet<T>(token: ServiceToken<T>): T | undefined {
    return this.services.get(token.name) as T | undefined;
  }

  async load(defs: readonly ModuleDefinition[]): Promise<void> {
    for (const def of orderModules(defs)) {
      const fns: Array<() => void | Promise<void>> = [];
      const unloaders: Array<() => void | Promise<void>> = [];
      const ctx = this.makeContext(def, fns, unloaders);
      this.teardown.push({ id: def.id, fns });
      await def.setup(ctx);
      fns.push(...unloaders);
      for (const t of def.provides ?? []) {
        if (!this.services.has(t.name)) throw new ModuleLoadError(`module ${def.id} declared ${t.name} but did not provide it`);
      }
      this.loaded.push(def.id);
      this.host.log.debug({ module: def.id }, "module loaded");
    }
  }

  /** Unloads in reverse order; each module's registrations are removed, then its own unload hooks run. */
  async unloadAll(): Promise<void> {
    while (this.teardown.length) {
      const { id, fns } = this.teardown.pop()!;
      for (const fn of fns) {
        try {
          await fn();
        } catch (err) {
          this.host.log.error({ err, module: id }, "module unload step failed");
        }
      }
    }
  }

  private makeContext(def: ModuleDefinition, fns: Array<() => void | Promise<void>>, unloaders: Array<() => void | Promise<void>>): ModuleContext {
    const host = this.host;
    const services = this.services;
    const allowed = new Set([...(def.requires ?? []), ...(def.provides ?? [])].map((t) => t.name));
    const ctx: ModuleContext = {
      id: def.id,
      host,
      domain: host.domain,
      config: host.config,
      log: host.log.child({ module: def.id }),
      router: host.router,
      sessions: host.sessions,
      db: host.db,
      on: ((event: any, fn: any, priority?: number) => {
        fns.push(host.hooks.on(event, fn, priority, def.id));
      }) as ModuleContext["on"],
      iq(type, target, ns, name, handler: IqHandler) {
        const targets: IqTarget[] = Array.isArray(target) ? target : [target];
        for (const t of targets) {
          fns.push(host.hooks.on(iqEvent(type, t, ns, name), (p) => runIqHandler(p, p.stanza.getChild(name, ns)!, handler, host.router, ctx.log), 0, def.id));
        }
      },
      feature(ns, opts) {
        const server = opts?.server ?? true;
        if (server) {
          host.disco.features.add(ns);
          fns.push(() => void host.disco.features.delete(ns));
        }
        if (opts?.account) {
          host.disco.accountFeatures.add(ns);
          fns.push(() => void host.disco.accountFeatures.delete(ns));
        }
      },
      provide(token, impl) {
        if (!(def.provides ?? []).some((t) => t.name === token.name)) {
          throw new ModuleLoadError(`module ${def.id} provides ${token.name} without declaring it in 'provides'`);
        }
        services.set(token.name, impl);
        fns.push(() => void services.delete(token.name));
      },
      use(token) {
        if (!allowed.has(token.name) && !services.has(token.name)) {
          throw new ModuleLoadError(`module ${def.id} uses ${token.name} without declaring it in 'requires'`);
        }
        if (!services.has(token.name)) throw new ModuleLoadError(`service ${token.name} is not available to ${def.id}`);
        return services.get(token.name) as any;
      },
      every(ms, fn) {
        const timer = setInterval(() => {
          try {
            const r = fn();
            if (r && typeof (r as Promise<void>).then === "function") (r as Promise<void>).catch((err) => ctx.log.error({ err }, "periodic task failed"));
          } catch (err) {
            ctx.log.error({ err }, "periodic task failed");
          }
        }, ms);
        timer.unref();
        fns.push(() => clearInterval(timer));
      },
      onUnload(fn) {
        unloaders.push(fn);
      },
    };
    return ctx;
  }
}
