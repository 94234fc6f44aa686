// Messaging events other modules react to (carbons, later archiving …).
import { defineNotifyEvent } from "../../core/hooks/hooks.ts";
import type { Element } from "../../xml/element.ts";
import type { Jid } from "../../jid/jid.ts";
import type { Session } from "../../core/session/session.ts";

export interface MessageDelivered {
  stanza: Element;
  from: Jid;
  /** Where the message went: the local account's bare JID, or the full JID it was addressed to. */
  to: Jid;
  /** The sessions that received the message itself (empty when nobody could take it live). */
  recipients: readonly Session[];
  /** True when it was stored for later delivery (XEP-0160). */
  offline: boolean;
}

export const MessagingEvents = Object.freeze({
  /**
   * A 1:1 message (normal or chat, and headline to live sessions) for a local account was
   * handled: delivered to `recipients`, stored offline, or — for content-less messages with no
   * live recipient — dropped. Fired after delivery, handlers run synchronously when they are
   * sync (XEP-0280 received copies are sent right after the original).
   */
  delivered: defineNotifyEvent<MessageDelivered>("messaging/delivered"),
});
