// Password preparation (PRECIS OpaqueString, RFC 8265 §4.2) and SCRAM key derivation
// (RFC 5802 §3), shared by SCRAM-* and PLAIN.

import { createHash, createHmac, hash as oneShotHash, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { PrecisError, enforceOpaqueString } from "../../jid/precis.ts";
import type { ScramCredentials, ScramHash } from "./types.ts";

const pbkdf2Async = promisify(pbkdf2);

/**
 * Default iteration counts for new credentials. RFC 5802 §5.1 and RFC 7677 §4 say the
 * count SHOULD be at least 4096; SHA-256 gets more because it is the mechanism we prefer
 * and clients pay the cost once per login (and can cache the salted password).
 */
export const DEFAULT_ITERATIONS: Readonly<Record<ScramHash, number>> = { "SHA-1": 4096, "SHA-256": 10_000 };
/** New credentials may not use fewer iterations than RFC 5802/7677 recommend. */
export const MIN_ITERATIONS = 4096;
/** Upper bound for new and stored counts (PLAIN runs PBKDF2 on the server; SCRAM clients do). */
export const MAX_ITERATIONS = 1_000_000;
export const DEFAULT_SALT_BYTES = 16;
/** Longest password accepted, in UTF-16 units (before preparation). */
export const MAX_PASSWORD_LENGTH = 1024;

export class PasswordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PasswordError";
  }
}

export function hashAlgorithm(hash: ScramHash): "sha1" | "sha256" {
  return hash === "SHA-1" ? "sha1" : "sha256";
}

export function hashLength(hash: ScramHash): number {
  return hash === "SHA-1" ? 20 : 32;
}

/** Block size of SHA-1 and SHA-256 (HMAC pads the key to it). */
const HMAC_BLOCK = 64;

/**
 * HMAC-SHA-1/-256 (RFC 2104) on one-shot crypto.hash(). Same result as createHmac(), but a
 * login storm profile showed createHmac() at ~40 µs per SCRAM login in Node 24 (it checks the
 * key for KeyObject/CryptoKey slots on every call); this is ~2 µs per call.
 */
export function hmac(alg: "sha1" | "sha256", key: Buffer, data: string | Buffer): Buffer {
  const k = key.length > HMAC_BLOCK ? oneShotHash(alg, key, "buffer") : key;
  const dataLength = typeof data === "string" ? Buffer.byteLength(data, "utf8") : data.length;
  const inner = Buffer.allocUnsafe(HMAC_BLOCK + dataLength);
  const outer = Buffer.allocUnsafe(HMAC_BLOCK + (alg === "sha1" ? 20 : 32));
  for (let i = 0; i < HMAC_BLOCK; i++) {
    const b = i < k.length ? k[i] : 0;
    inner[i] = b ^ 0x36;
    outer[i] = b ^ 0x5c;
  }
  if (typeof data === "string") inner.write(data, HMAC_BLOCK, "utf8");
  else data.copy(inner, HMAC_BLOCK);
  oneShotHash(alg, inner, "buffer").copy(outer, HMAC_BLOCK);
  return oneShotHash(alg, outer, "buffer");
}

/**
 * Prepare a password with the PRECIS OpaqueString profile (RFC 8265 §4.2): non-ASCII spaces
 * become U+0020, NFC; control, default-ignorable, unassigned and a few other code points
 * are rejected, as is the empty string. The error never quotes the password.
 */
export function preparePassword(pw: string): string {
  if (pw.length > MAX_PASSWORD_LENGTH) throw new PasswordError(`password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  try {
    return enforceOpaqueString(pw);
  } catch (e) {
    if (e instanceof PrecisError) throw new PasswordError(`password contains a disallowed character: ${e.reason}`);
    throw e;
  }
}

function checkIterations(i: number): void {
  if (!Number.isInteger(i) || i < MIN_ITERATIONS || i > MAX_ITERATIONS) {
    throw new RangeError(`SCRAM iteration count must be an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`);
  }
}

function keysFromSaltedPassword(hash: ScramHash, salted: Buffer): { storedKey: Buffer; serverKey: Buffer } {
  const alg = hashAlgorithm(hash);
  const clientKey = createHmac(alg, salted).update("Client Key").digest();
  return {
    storedKey: createHash(alg).update(clientKey).digest(),
    serverKey: createHmac(alg, salted).update("Server Key").digest(),
  };
}

function credsFrom(hash: ScramHash, salt: Buffer, iterations: number, salted: Buffer): ScramCredentials {
  const { storedKey, serverKey } = keysFromSaltedPassword(hash, salted);
  return {
    salt: salt.toString("base64"),
    iterations,
    storedKey: storedKey.toString("base64"),
    serverKey: serverKey.toString("base64"),
  };
}

export interface DeriveOptions {
  salt?: Buffer;
  iterations?: number;
}

/**
 * Derive the SCRAM verifier for a password (prepared with OpaqueString first).
 * Synchronous: PBKDF2 blocks the event loop for a few milliseconds; prefer
 * deriveScramCredentialsAsync inside the server.
 */
export function deriveScramCredentials(hash: ScramHash, password: string, opts?: DeriveOptions): ScramCredentials {
  const iterations = opts?.iterations ?? DEFAULT_ITERATIONS[hash];
  checkIterations(iterations);
  const salt = opts?.salt ?? randomBytes(DEFAULT_SALT_BYTES);
  if (salt.length === 0) throw new RangeError("salt must not be empty");
  const pw = preparePassword(password);
  return credsFrom(hash, salt, iterations, pbkdf2Sync(pw, salt, iterations, hashLength(hash), hashAlgorithm(hash)));
}

/** As deriveScramCredentials, running PBKDF2 on the libuv thread pool. */
export async function deriveScramCredentialsAsync(
  hash: ScramHash,
  password: string,
  opts?: DeriveOptions,
): Promise<ScramCredentials> {
  const iterations = opts?.iterations ?? DEFAULT_ITERATIONS[hash];
  checkIterations(iterations);
  const salt = opts?.salt ?? randomBytes(DEFAULT_SALT_BYTES);
  if (salt.length === 0) throw new RangeError("salt must not be empty");
  const pw = preparePassword(password);
  const salted = await pbkdf2Async(pw, salt, iterations, hashLength(hash), hashAlgorithm(hash));
  return credsFrom(hash, salt, iterations, salted);
}

const RE_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict, canonical base64 decoding; undefined when `s` is not canonical base64. */
export function decodeBase64Strict(s: string): Buffer | undefined {
  if (!RE_BASE64.test(s)) return undefined;
  const b = Buffer.from(s, "base64");
  return b.toString("base64") === s ? b : undefined;
}

export interface DecodedCredentials {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** Validate stored credentials; undefined when they are unusable for `hash`. */
export function decodeCredentials(creds: ScramCredentials, hash: ScramHash): DecodedCredentials | undefined {
  const len = hashLength(hash);
  const salt = decodeBase64Strict(creds.salt);
  const storedKey = decodeBase64Strict(creds.storedKey);
  const serverKey = decodeBase64Strict(creds.serverKey);
  const i = creds.iterations;
  if (salt === undefined || salt.length === 0 || storedKey?.length !== len || serverKey?.length !== len) return undefined;
  if (!Number.isInteger(i) || i < 1 || i > MAX_ITERATIONS) return undefined;
  return { salt, iterations: i, storedKey, serverKey };
}

function prepareOrUndefined(password: string): string | undefined {
  try {
    return preparePassword(password);
  } catch (e) {
    if (e instanceof PasswordError) return undefined;
    throw e;
  }
}

/** Check a plaintext password against a stored SCRAM verifier (constant-time compare). */
export function verifyPassword(creds: ScramCredentials, hash: ScramHash, password: string): boolean {
  const d = decodeCredentials(creds, hash);
  const pw = prepareOrUndefined(password);
  if (d === undefined || pw === undefined) return false;
  const salted = pbkdf2Sync(pw, d.salt, d.iterations, hashLength(hash), hashAlgorithm(hash));
  return timingSafeEqual(keysFromSaltedPassword(hash, salted).storedKey, d.storedKey);
}

/** As verifyPassword, running PBKDF2 on the libuv thread pool. */
export async function verifyPasswordAsync(creds: ScramCredentials, hash: ScramHash, password: string): Promise<boolean> {
  const d = decodeCredentials(creds, hash);
  const pw = prepareOrUndefined(password);
  if (d === undefined || pw === undefined) return false;
  const salted = await pbkdf2Async(pw, d.salt, d.iterations, hashLength(hash), hashAlgorithm(hash));
  return timingSafeEqual(keysFromSaltedPassword(hash, salted).storedKey, d.storedKey);
}

/** PBKDF2 work of the same cost as a real check, for users that do not exist. */
export async function burnPasswordWork(hash: ScramHash, password: string, salt: Buffer, iterations: number): Promise<void> {
  await pbkdf2Async(password, salt, Math.min(Math.max(iterations, 1), MAX_ITERATIONS), hashLength(hash), hashAlgorithm(hash));
}
