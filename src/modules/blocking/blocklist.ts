// One user's blocklist in memory, with the JID matching rules of XEP-0191 §6 (those of
// XEP-0016): an item blocks
//   user@domain/resource  only that resource
//   user@domain           any resource of that account
//   domain/resource       that resource at the domain (domain/resource, any user@domain/resource)
//   domain                the domain itself and every address at it
// (the matching order of XEP-0016 §2.1 applied to a full JID, as ejabberd does).
// A check is at most four Set lookups.
import type { Jid } from "../../jid/jid.ts";

/** The item forms that match an address, most specific first. */
export function matchKeys(jid: Jid): string[] {
  const keys: string[] = [];
  if (jid.resource !== "") keys.push(jid.toString());
  if (jid.local !== "") {
    keys.push(jid.bareString);
    if (jid.resource !== "") keys.push(jid.domain + "/" + jid.resource);
  }
  keys.push(jid.domain);
  return keys;
}

export class Blocklist {
  /** Prepared JID strings, in the order they were blocked. */
  readonly items = new Set<string>();

  constructor(items: Iterable<string> = []) {
    for (const i of items) this.items.add(i);
  }

  get size(): number {
    return this.items.size;
  }

  matches(jid: Jid): boolean {
    const items = this.items;
    if (items.size === 0) return false;
    if (items.has(jid.domain)) return true;
    if (jid.local !== "" && items.has(jid.bareString)) return true;
    if (jid.resource !== "") {
      if (items.has(jid.toString())) return true;
      if (jid.local !== "" && items.has(jid.domain + "/" + jid.resource)) return true;
    }
    return false;
  }

  add(items: Iterable<string>): void {
    for (const i of items) this.items.add(i);
  }

  delete(items: Iterable<string>): void {
    for (const i of items) this.items.delete(i);
  }

  clear(): void {
    this.items.clear();
  }

  list(): string[] {
    return [...this.items];
  }
}
