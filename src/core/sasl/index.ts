// Server-side SASL: SCRAM-SHA-1, SCRAM-SHA-256 and PLAIN. See docs/jid.md ("SASL").

export type {
  AuthzidCheck,
  CredentialLookup,
  IdentityCheck,
  SaslFailureCondition,
  SaslMechanism,
  SaslMechanismOptions,
  SaslStep,
  ScramCredentials,
  ScramHash,
} from "./types.ts";
export { MAX_SASL_MESSAGE_BYTES } from "./types.ts";
export {
  DEFAULT_ITERATIONS,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  PasswordError,
  deriveScramCredentials,
  deriveScramCredentialsAsync,
  preparePassword,
  verifyPassword,
  verifyPasswordAsync,
} from "./password.ts";
export type { DeriveOptions } from "./password.ts";
export { createScramMechanism } from "./scram.ts";
export type { ScramOptions } from "./scram.ts";
export { createPlainMechanism } from "./plain.ts";
