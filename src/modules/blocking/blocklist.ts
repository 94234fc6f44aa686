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

const NONE: ReadonlySet<string> = new Set<string>();

export class Blocklist {
  /**
   * Created with the first item: every online user has a Blocklist, almost all of them empty,
   * and an empty Set costs ~150 bytes per connection.
   */
  private set: Set<string> | undefined = undefined;

  constructor(items: Iterable<string> = []) {
    this.add(items);
  }

  /** Prepared JID strings, in the order they were blocked. */
  get items(): ReadonlySet<string> {
    return this.set ?? NONE;
  }

  get size(): number {
    return this.set === undefined ? 0 : this.set.size;
  }

  matches(jid: Jid): boolean {
    const items = this.set;
    if (items === undefined || items.size === 0) return false;
    if (items.has(jid.domain)) return true;
    if (jid.local !== "" && items.has(jid.bareString)) return true;
    if (jid.resource !== "") {
      if (items.has(jid.toString())) return true;
      if (jid.local !== "" && items.has(jid.domain + "/" + jid.resource)) return true;
    }
    return false;
  }

  add(items: Iterable<string>): void {
    for (const i of items) (this.set ??= new Set()).add(i);
  }

  delete(items: Iterable<string>): void {
    if (this.set === undefined) return;
    for (const i of items) this.set.delete(i);
  }

  clear(): void {
    this.set?.clear();
  }

  list(): string[] {
    return this.set === undefined ? [] : [...this.set];
  }
}
