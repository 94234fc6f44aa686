// Random tokens (stream ids, SCRAM server nonces, generated resources) from one pooled
// CSPRNG buffer. randomBytes() per token costs ~1.5 µs (a native call and a fresh Buffer);
// a login needs three, which a login-storm profile showed as ~2.5 % of the server's time.
// Same generator, every byte used once; only the refill is batched.
import { randomFillSync } from "node:crypto";

const POOL_BYTES = 4096;
let pool = Buffer.allocUnsafe(0);
let offset = 0;

/** `bytes` fresh random bytes (at most 4096), encoded. */
export function randomToken(bytes: number, encoding: "base64" | "base64url" | "hex"): string {
  if (offset + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const s = pool.toString(encoding, offset, offset + bytes);
  offset += bytes;
  return s;
}
