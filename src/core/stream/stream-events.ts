// Events the stream machine exposes to modules (stream features, non-stanza elements, session life).
import { defineFoldEvent, defineHandleEvent, defineNotifyEvent } from "../hooks/hooks.ts";
import type { Element } from "../../xml/element.ts";
import type { Session } from "../session/session.ts";
import type { C2sStream } from "./c2s-stream.ts";

export interface FeaturesContext {
  stream: C2sStream;
  /** "authenticated": the stream after SASL (bind is offered); modules add e.g. rosterver, sm, csi. */
  stage: "authenticated";
}

export interface PreAuthFeaturesContext {
  stream: C2sStream;
}

export interface NonzaPayload {
  stream: C2sStream;
  element: Element;
}

export interface AuthEvent {
  username: string;
  remoteAddress: string;
  mechanism: string;
}

export interface SessionClosedEvent {
  session: Session;
  /** Why: "client-closed", "transport-closed", a stream error condition, "replaced" … */
  reason: string;
}

export interface TransportLostPayload {
  stream: C2sStream;
  session: Session;
  /** "transport-closed" (socket closed or failed) or "connection-timeout" (nothing received). */
  reason: string;
}

export interface ShutdownPayload {
  /** The stream error condition every client stream is about to be ended with. */
  condition: "system-shutdown";
}

export const StreamEvents = Object.freeze({
  /** Extra stream features offered after authentication. */
  features: defineFoldEvent<Element[], FeaturesContext>("stream/features"),
  /**
   * Extra stream features offered before authentication, next to the SASL mechanisms (e.g.
   * XEP-0077 <register/>). Not folded while STARTTLS is still required.
   */
  preAuthFeatures: defineFoldEvent<Element[], PreAuthFeaturesContext>("stream/pre-auth-features"),
  /** A top-level element that is not a stanza (XEP-0198 <enable/>, XEP-0352 <active/> …). */
  nonza: defineHandleEvent<NonzaPayload>("stream/nonza"),
  authenticated: defineNotifyEvent<AuthEvent>("stream/authenticated"),
  authFailed: defineNotifyEvent<{ username: string | undefined; remoteAddress: string; condition: string }>("stream/auth-failed"),
  /**
   * The connection of a bound stream went away without the stream being closed (XEP-0198
   * §7 "unfinished stream"). A handler that returns true takes the session over: the core then
   * neither removes it from the registry nor fires SessionEvents.closed — the claimer must do
   * both when the session finally ends. Handlers must answer synchronously.
   */
  transportLost: defineHandleEvent<TransportLostPayload>("stream/transport-lost"),
  /**
   * server.stop() is about to end every client stream with system-shutdown. Awaited, while
   * every module and the database are still there (XEP-0198: unacknowledged stanzas → offline).
   */
  shutdown: defineNotifyEvent<ShutdownPayload>("stream/shutdown"),
});

export const SessionEvents = Object.freeze({
  /** A resource was bound and registered. */
  bound: defineNotifyEvent<Session>("session/bound"),
  /** A session ended; it has already been removed from the registry. */
  closed: defineNotifyEvent<SessionClosedEvent>("session/closed"),
});
