// VcardService: the user's vCard (XEP-0054) and its photo hash (XEP-0153) for other modules
// (presence avatars, the HTTP API, enterprise directory views).
import { defineService } from "../../core/module/module.ts";
import { defineNotifyEvent } from "../../core/hooks/hooks.ts";
import type { Element } from "../../xml/element.ts";
import type { Jid } from "../../jid/jid.ts";

export interface VcardService {
  /**
   * The vCard of `owner` (a local bare JID) as `viewer` may see it, or undefined when there is
   * none. This is the one read path for vCards: any per-viewer filtering (privacy levels) goes
   * here, so the IQ answers and every other reader stay consistent. A fresh element each call.
   */
  get(owner: string, viewer?: Jid): Promise<Element | undefined>;
  /**
   * XEP-0153 photo hash of the owner's vCard: 40 hex digits, "" when there is no photo (or no
   * vCard), null when the photo is a reference the server cannot hash (EXTVAL). Kept in memory
   * for users who are online; read from storage otherwise.
   */
  photoHash(owner: string): Promise<string | null>;
  /**
   * Stores the owner's vCard (an empty <vCard/> deletes it). Rejects with a StanzaError when it
   * is refused (too large, malformed photo). Resolves once durable.
   */
  set(owner: string, vcard: Element): Promise<{ photoHash: string | null; photoChanged: boolean }>;
  /** Deletes the owner's vCard; true when there was one. */
  remove(owner: string): Promise<boolean>;
}

export const VcardServiceToken = defineService<VcardService>("VcardService");

export interface VcardChangedEvent {
  owner: string;
  /** The new photo hash (see VcardService.photoHash). */
  photoHash: string | null;
  photoChanged: boolean;
}

export const VcardEvents = Object.freeze({
  /** A user's vCard was set or deleted (after it was stored). */
  changed: defineNotifyEvent<VcardChangedEvent>("vcard/changed"),
});
