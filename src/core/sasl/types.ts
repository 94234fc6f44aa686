// Server-side SASL (RFC 6120 §6, RFC 4422): shared types.

/** SCRAM verifier for one user and one hash (RFC 5802 §3); binary values are base64. */
export interface ScramCredentials {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

export type ScramHash = "SHA-1" | "SHA-256";

export interface CredentialLookup {
  /**
   * The stored verifier of `username` (already prepared with the username profile) for
   * `hash`, or undefined when the user does not exist or has none for that hash.
   */
  getScram(username: string, hash: ScramHash): Promise<ScramCredentials | undefined>;
}

/** RFC 6120 §6.5 failure conditions. */
export type SaslFailureCondition =
  | "not-authorized"
  | "malformed-request"
  | "invalid-mechanism"
  | "encryption-required"
  | "aborted"
  | "incorrect-encoding"
  | "invalid-authzid"
  | "temporary-auth-failure"
  | "mechanism-too-weak"
  | "credentials-expired"
  | "account-disabled";

export type SaslStep =
  | { kind: "challenge"; data: Buffer }
  | { kind: "success"; username: string; data?: Buffer }
  | { kind: "failure"; condition: SaslFailureCondition; text?: string };

/**
 * One authentication exchange (create a new instance per attempt). `start` receives the
 * decoded initial response (`null` when the client sent none, an empty Buffer for "=");
 * `next` each decoded response. After success or failure the instance is spent.
 */
export interface SaslMechanism {
  readonly name: string;
  /**
   * The authentication identity the client claimed (prepared when valid, else as sent), once
   * the mechanism has read it; undefined before. Set whether or not the account exists.
   */
  readonly username?: string;
  start(initial: Buffer | null): Promise<SaslStep>;
  next(response: Buffer): Promise<SaslStep>;
}

/**
 * Decides whether `username` (authenticated) may act as `authzid` (non-empty).
 * Return true to allow.
 */
export type AuthzidCheck = (username: string, authzid: string) => boolean | Promise<boolean>;

export interface SaslMechanismOptions {
  /**
   * The domain the stream is for. With it, a non-empty authzid must be exactly the bare
   * JID username@domain (after JID preparation). Without it (and without `authorize`),
   * only the localpart of a bare-JID authzid can be compared with the username.
   */
  domain?: string;
  /** Replaces the default authzid rule above. */
  authorize?: AuthzidCheck;
  /**
   * Iteration count announced (SCRAM) or spent (PLAIN) for unknown users, so they look like
   * real ones. Set it to the count your stored credentials use. Default: DEFAULT_ITERATIONS.
   */
  fakeIterations?: number;
  /**
   * Secret keying the fake salt of unknown users. Share one value across all nodes of a
   * cluster (otherwise an unknown user's salt differs between nodes and restarts while a
   * real user's does not). Default: random per process.
   */
  fakeSaltSecret?: Buffer;
  /**
   * Called once the authentication identity is read from the client's message, before any
   * credential is looked up or password checked, with the prepared username (the raw one when
   * it cannot be prepared). Returning a failure ends the exchange with it (abuse limits:
   * temporary-auth-failure for a blocked account).
   */
  checkIdentity?: IdentityCheck;
}

/** See SaslMechanismOptions.checkIdentity: undefined lets the exchange go on. */
export type IdentityCheck = (username: string) => { condition: SaslFailureCondition; text?: string } | undefined;

/** Hard bounds on client messages and iteration counts. */
export const MAX_SASL_MESSAGE_BYTES = 4096;
