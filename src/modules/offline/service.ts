// OfflineService: durable storage of messages for users with no available resource
// (RFC 6121 §8.5.2.1.1 / XEP-0160), delivered with XEP-0203 delay stamps at next login.
import { defineService } from "../../core/module/module.ts";
import type { Element } from "../../xml/element.ts";

export interface OfflineService {
  /**
   * Stores a message for a local account. Resolves once it is durable; rejects with a
   * StanzaError (service-unavailable) when the user's offline quota is full.
   */
  store(owner: string, stanza: Element): Promise<void>;
  count(owner: string): Promise<number>;
}

export const OfflineServiceToken = defineService<OfflineService>("OfflineService");
