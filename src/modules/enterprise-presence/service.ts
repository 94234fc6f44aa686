// EnterprisePresenceService: the server side of enterprise presence (docs/presence.md) for the
// presence module (fan-out), the REST API and the badge: each user's aggregated state, the
// level a watcher has, and the organisation's settings.
import { defineService } from "../../core/module/module.ts";
import type { StanzaError } from "../../core/errors.ts";
import type { Session } from "../../core/session/session.ts";
import type { Element } from "../../xml/element.ts";
import type { Jid } from "../../jid/jid.ts";
import type { DndPolicy } from "../../core/config/config.ts";
import type { PresenceState } from "./aggregate.ts";
import type { ViewerLevel } from "./privacy.ts";
import type { CustomStateDef } from "./custom-states.ts";

export interface PresenceSettings {
  /** Languages of <status/> and custom labels; the first is the default. */
  readonly languages: readonly string[];
  readonly customStates: readonly CustomStateDef[];
  readonly dndPolicy: DndPolicy;
  readonly organisationDomains: readonly string[];
  readonly allowPrivacyMode: boolean;
}

export type ClientPresenceResult = { readonly ok: true; readonly changed: boolean } | { readonly ok: false; readonly error: StanzaError };

/** Resolves watchers' levels for one owner (the owner's roster and blocklist read once). */
export type LevelResolver = (watcher: Jid) => ViewerLevel | Promise<ViewerLevel>;

export interface EnterprisePresenceService {
  readonly settings: PresenceSettings;
  /** The aggregate of a user whose record is in memory (a session is bound), else undefined. */
  current(user: string): PresenceState | undefined;
  /** The aggregate of any local user: from memory, or computed from storage (offline users). */
  stateOf(user: string): Promise<PresenceState>;
  /**
   * A resource's available presence broadcast (no 'to'): decoded (docs/presence.md, "Client →
   * server") and applied. An error is for the client (a presence error); `changed` says whether
   * PresenceEvents.changed was fired (watchers then got every resource again).
   */
  clientPresence(session: Session, stanza: Element, initial: boolean): Promise<ClientPresenceResult>;
  /** The resource is no longer available (unavailable presence or the session ended). */
  resourceGone(session: Session): Promise<boolean>;
  /** The level of `watcher` for `owner`'s presence ("self" for the owner's own resources). */
  level(owner: string, watcher: Jid): Promise<ViewerLevel>;
  /** A resolver for many watchers of one owner. */
  levelResolver(owner: string): Promise<LevelResolver>;
  /** The user's standard client last said <show>chat</show> (rendered while Available). */
  freeForChat(user: string): boolean;
  /** The language (one of settings.languages) a local session reads presence in. */
  languageOf(session: Session | undefined): string;
}

export const EnterprisePresenceServiceToken = defineService<EnterprisePresenceService>("EnterprisePresenceService");
