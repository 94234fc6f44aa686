// Helpers shared by the SASL mechanisms.

import { createHmac, randomBytes } from "node:crypto";
import { prepDomain, tryParseJid } from "../../jid/jid.ts";
import { DEFAULT_ITERATIONS, hashAlgorithm, hashLength } from "./password.ts";
import type { DecodedCredentials } from "./password.ts";
import type { SaslFailureCondition, SaslMechanismOptions, SaslStep, ScramHash } from "./types.ts";

export function failure(condition: SaslFailureCondition, text?: string): SaslStep {
  return text === undefined ? { kind: "failure", condition } : { kind: "failure", condition, text };
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strict UTF-8 decoding; undefined on invalid sequences. */
export function decodeUtf8(b: Buffer): string | undefined {
  try {
    return utf8.decode(b);
  } catch {
    return undefined;
  }
}

const processSecret = randomBytes(32);

/**
 * Deterministic stand-in credentials for a user that does not exist: the same salt and
 * iteration count every time the same name is tried (while the secret is the same), and
 * keys nobody can match.
 */
export function fakeCredentials(hash: ScramHash, username: string, opts: SaslMechanismOptions): DecodedCredentials {
  const secret = opts.fakeSaltSecret ?? processSecret;
  const mac = (label: string): Buffer =>
    createHmac("sha256", secret).update(`${label}\0${hash}\0`).update(username, "utf8").digest();
  const len = hashLength(hash);
  return {
    salt: mac("salt").subarray(0, 16),
    iterations: opts.fakeIterations ?? DEFAULT_ITERATIONS[hash],
    storedKey: createHmac(hashAlgorithm(hash), mac("stored")).digest().subarray(0, len),
    serverKey: createHmac(hashAlgorithm(hash), mac("server")).digest().subarray(0, len),
  };
}

/** RFC 6120 §6.3.8 / §6.4.6: may `username` act as `authzid`? An empty authzid always may. */
export async function authzidAllowed(username: string, authzid: string, opts: SaslMechanismOptions): Promise<boolean> {
  if (authzid === "") return true;
  if (opts.authorize !== undefined) return await opts.authorize(username, authzid);
  const j = tryParseJid(authzid);
  if (j === undefined || !j.isBare || j.local !== username) return false;
  if (opts.domain === undefined) return true;
  try {
    return j.domain === prepDomain(opts.domain);
  } catch {
    return false;
  }
}

/** Apply the username profile; undefined when the name cannot be a valid username. */
export function prepOrUndefined(prep: (u: string) => string, raw: string): string | undefined {
  try {
    const u = prep(raw);
    return u === "" ? undefined : u;
  } catch {
    return undefined;
  }
}
