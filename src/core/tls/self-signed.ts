// TLS material for the c2s listeners: the operator's certificate when configured, otherwise
// a self-signed one generated on first start under <dataDir>/tls/ and reused afterwards.
//
// Generated: ECDSA P-256, one year, SAN DNS:<domain> + DNS:localhost, serverAuth+clientAuth.
// Regenerated when the domain is no longer in the SAN, when it expires within
// RENEW_BEFORE_DAYS, or when the files are damaged or do not match. Several processes
// starting together on one data directory generate once (lock file), never a mismatched pair.

import "./reflect-shim.ts"; // before @peculiar/x509 (loaded lazily below)
import { createPrivateKey, randomBytes, X509Certificate } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ParleyConfig } from "../config/config.ts";

export interface TlsMaterial {
  /** PEM certificate (chain included when the configured file has one). */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
  /** True when this call created a new certificate. */
  readonly generated: boolean;
  /** SHA-256 of the leaf certificate, "AB:CD:…" (as clients show it). */
  readonly fingerprint: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** "configured": tls.cert/tls.key; "self-signed": under <dataDir>/tls/. */
  readonly source: "configured" | "self-signed";
  /** Why a certificate was (re)generated, for the boot log. */
  readonly reason?: string;
  /** Non-fatal findings on a configured certificate (expired, does not name the domain). */
  readonly warnings: readonly string[];
}

export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TlsConfigError";
  }
}

export type TlsConfigInput = Pick<ParleyConfig, "domain" | "dataDir" | "tls">;

export interface EnsureTlsOptions {
  /** Clock, for tests. */
  now?: () => Date;
  /** Validity of a generated certificate, in days (default 365). */
  validityDays?: number;
  /** How long to wait for another process holding the generation lock (default 30 s). */
  lockTimeoutMs?: number;
}

export const RENEW_BEFORE_DAYS = 30;
const DAY_MS = 86_400_000;
const STALE_LOCK_MS = 60_000;

export async function ensureTlsMaterial(config: TlsConfigInput, opts: EnsureTlsOptions = {}): Promise<TlsMaterial> {
  if (config.tls.cert !== "" || config.tls.key !== "") return readConfigured(config, opts);
  return ensureSelfSigned(config, opts);
}

// ---------------------------------------------------------------------------------------
// Configured certificate

async function readConfigured(config: TlsConfigInput, opts: EnsureTlsOptions): Promise<TlsMaterial> {
  const { cert: certPath, key: keyPath } = config.tls;
  if (certPath === "" || keyPath === "") {
    throw new TlsConfigError("tls.cert and tls.key must be set together (or both left empty for a self-signed certificate)");
  }
  const certPem = await readPem("tls.cert", certPath);
  const keyPem = await readPem("tls.key", keyPath);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch {
    throw new TlsConfigError(`tls.cert: ${certPath} does not hold a PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(keyPem) ? " (it is encrypted; give an unencrypted key)" : "";
    throw new TlsConfigError(`tls.key: ${keyPath} does not hold a usable PEM private key${encrypted}: ${(err as Error).message}`);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsConfigError(`tls.key: ${keyPath} does not match the certificate in ${certPath} (tls.cert)`);
  }
  const now = (opts.now ?? (() => new Date()))();
  const warnings: string[] = [];
  if (new Date(leaf.validTo) < now) warnings.push(`certificate ${certPath} expired on ${leaf.validTo}`);
  if (new Date(leaf.validFrom) > now) warnings.push(`certificate ${certPath} is not valid before ${leaf.validFrom}`);
  if (leaf.checkHost(config.domain) === undefined) {
    warnings.push(`certificate ${certPath} does not name the domain ${config.domain} (${leaf.subjectAltName ?? leaf.subject})`);
  }
  return {
    cert: certPem,
    key: keyPem,
    generated: false,
    fingerprint: leaf.fingerprint256,
    certPath,
    keyPath,
    source: "configured",
    warnings,
  };
}

async function readPem(keyName: string, path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a directory" : (err as Error).message;
    throw new TlsConfigError(`${keyName}: cannot read ${path}: ${why}`);
  }
}

// ---------------------------------------------------------------------------------------
// Self-signed certificate under <dataDir>/tls/

/** The DNS names a generated certificate carries. */
export function selfSignedNames(domain: string): string[] {
  return [...new Set([domain, "localhost"])];
}

async function ensureSelfSigned(config: TlsConfigInput, opts: EnsureTlsOptions): Promise<TlsMaterial> {
  const dir = join(config.dataDir, "tls");
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  const now = opts.now ?? (() => new Date());

  // Fast path, no lock: a good pair is already there.
  let found = await inspect(certPath, keyPath, config.domain, now());
  if (found.ok) return found.material;

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const release = await lock(join(dir, ".lock"), opts.lockTimeoutMs ?? 30_000);
  try {
    // Another process may have generated while we waited.
    found = await inspect(certPath, keyPath, config.domain, now());
    if (found.ok) return found.material;
    const { cert, key } = await generate(config.domain, now(), opts.validityDays ?? 365);
    await writeAtomic(keyPath, key, 0o600);
    await writeAtomic(certPath, cert, 0o644);
    return {
      cert,
      key,
      generated: true,
      fingerprint: new X509Certificate(cert).fingerprint256,
      certPath,
      keyPath,
      source: "self-signed",
      reason: found.reason,
      warnings: [],
    };
  } finally {
    await release();
  }
}

type Inspection = { ok: true; material: TlsMaterial } | { ok: false; reason: string };

async function inspect(certPath: string, keyPath: string, domain: string, now: Date): Promise<Inspection> {
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { ok: false, reason: "no certificate yet" };
    return { ok: false, reason: `could not read the previous one: ${(err as Error).message}` };
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) return { ok: false, reason: "the previous key did not match its certificate" };
  } catch {
    return { ok: false, reason: "the previous files were damaged" };
  }
  const names = (leaf.subjectAltName ?? "").split(",").map((s) => s.trim());
  for (const n of selfSignedNames(domain)) {
    if (!names.includes(`DNS:${n}`)) return { ok: false, reason: `the domain changed (had ${names.join(", ") || "no names"}, need DNS:${n})` };
  }
  if (new Date(leaf.validTo).getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS) {
    return { ok: false, reason: `the previous one expires on ${leaf.validTo}` };
  }
  // Keep the key private even if someone loosened it.
  if (((await stat(keyPath)).mode & 0o077) !== 0) await chmod(keyPath, 0o600);
  return {
    ok: true,
    material: {
      cert: certPem,
      key: keyPem,
      generated: false,
      fingerprint: leaf.fingerprint256,
      certPath,
      keyPath,
      source: "self-signed",
      warnings: [],
    },
  };
}

async function generate(domain: string, now: Date, validityDays: number): Promise<{ cert: string; key: string }> {
  const x509 = await import("@peculiar/x509");
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive INTEGER
  serial[0] |= 0x01; // and no leading zero byte to strip
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString("hex"),
    name: `CN=${domain}, O=Parley self-signed`,
    notBefore: new Date(now.getTime() - 5 * 60_000), // tolerate small clock skew
    notAfter: new Date(now.getTime() + validityDays * DAY_MS),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(selfSignedNames(domain).map((value) => ({ type: "dns" as const, value }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    cert: cert.toString("pem") + "\n",
    key: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n",
  };
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, data, { mode, flag: "wx" });
  await chmod(tmp, mode); // the umask may have narrowed or widened nothing, but be exact
  await rename(tmp, path);
}

/** An exclusive lock file; stale locks (a crashed holder) are broken after a minute. */
async function lock(path: string, timeoutMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(path, "wx", 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await unlink(path).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    try {
      const s = await stat(path);
      if (Date.now() - s.mtimeMs > STALE_LOCK_MS) {
        await unlink(path).catch(() => {});
        continue;
      }
    } catch {
      continue; // released between our open and stat
    }
    if (Date.now() > deadline) {
      throw new TlsConfigError(`timed out waiting for ${path}, held by another Parley process generating the certificate; remove it if no such process runs`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
