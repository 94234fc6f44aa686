// Local session registry: bare JID → resource → session. One per host.
import type { Jid } from "../../jid/jid.ts";
import type { Session } from "./session.ts";

export class SessionRegistry {
  private readonly byBare = new Map<string, Map<string, Session>>();
  private total = 0;

  get count(): number {
    return this.total;
  }

  add(session: Session): void {
    let resources = this.byBare.get(session.bare);
    if (!resources) {
      resources = new Map();
      this.byBare.set(session.bare, resources);
    }
    if (!resources.has(session.jid.resource)) this.total++;
    resources.set(session.jid.resource, session);
  }

  remove(session: Session): boolean {
    const resources = this.byBare.get(session.bare);
    if (!resources || resources.get(session.jid.resource) !== session) return false;
    resources.delete(session.jid.resource);
    this.total--;
    if (resources.size === 0) this.byBare.delete(session.bare);
    return true;
  }

  get(full: Jid): Session | undefined {
    return this.byBare.get(full.bareString)?.get(full.resource);
  }

  getByResource(bare: string, resource: string): Session | undefined {
    return this.byBare.get(bare)?.get(resource);
  }

  /** All sessions of an account (empty array when offline). */
  resources(bare: string): Session[] {
    const r = this.byBare.get(bare);
    return r ? [...r.values()] : [];
  }

  hasResources(bare: string): boolean {
    return this.byBare.has(bare);
  }

  *all(): IterableIterator<Session> {
    for (const r of this.byBare.values()) yield* r.values();
  }

  accounts(): IterableIterator<string> {
    return this.byBare.keys();
  }
}
