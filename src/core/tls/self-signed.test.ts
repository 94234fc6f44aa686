import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer } from "node:tls";
import type { AddressInfo } from "node:net";
import { ensureTlsMaterial, TlsConfigError } from "./self-signed.ts";
import type { TlsConfigInput } from "./self-signed.ts";

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "parley-tls-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const selfSigned = (dataDir: string, domain = "example.test"): TlsConfigInput => ({ domain, dataDir, tls: { cert: "", key: "" } });

test("generates a self-signed pair once, with a private key file", async (t) => {
  const dir = tempDir(t);
  const m = await ensureTlsMaterial(selfSigned(dir));
  assert.equal(m.generated, true);
  assert.equal(m.source, "self-signed");
  assert.equal(m.reason, "no certificate yet");
  assert.equal(m.certPath, join(dir, "tls", "cert.pem"));
  assert.equal(m.keyPath, join(dir, "tls", "key.pem"));
  assert.equal(statSync(m.keyPath).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, "tls")).mode & 0o777, 0o700);
  const x = new X509Certificate(m.cert);
  assert.equal(x.subjectAltName, "DNS:example.test, DNS:localhost");
  assert.equal(x.fingerprint256, m.fingerprint);
  assert.match(m.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const days = (new Date(x.validTo).getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 364 && days < 366, `validity ${days} days`);
  assert.match(m.key, /^-----BEGIN PRIVATE KEY-----/);
});

test("reuses the pair on later starts, and regenerates when the domain changes", async (t) => {
  const dir = tempDir(t);
  const first = await ensureTlsMaterial(selfSigned(dir));
  const again = await ensureTlsMaterial(selfSigned(dir));
  assert.equal(again.generated, false);
  assert.equal(again.fingerprint, first.fingerprint);
  assert.equal(again.cert, first.cert);

  const other = await ensureTlsMaterial(selfSigned(dir, "chat.example.org"));
  assert.equal(other.generated, true);
  assert.match(other.reason ?? "", /domain changed/);
  assert.notEqual(other.fingerprint, first.fingerprint);
  assert.equal(new X509Certificate(other.cert).subjectAltName, "DNS:chat.example.org, DNS:localhost");
});

test("localhost as the domain is named once", async (t) => {
  const m = await ensureTlsMaterial(selfSigned(tempDir(t), "localhost"));
  assert.equal(new X509Certificate(m.cert).subjectAltName, "DNS:localhost");
});

test("regenerates near expiry, and when the files are damaged or mismatched", async (t) => {
  const dir = tempDir(t);
  const first = await ensureTlsMaterial(selfSigned(dir));
  const later = new Date(Date.now() + 340 * 86_400_000);
  const renewed = await ensureTlsMaterial(selfSigned(dir), { now: () => later });
  assert.equal(renewed.generated, true);
  assert.match(renewed.reason ?? "", /expires/);

  writeFileSync(join(dir, "tls", "cert.pem"), "garbage");
  const repaired = await ensureTlsMaterial(selfSigned(dir));
  assert.equal(repaired.generated, true);
  assert.equal(repaired.reason, "the previous files were damaged");

  writeFileSync(join(dir, "tls", "cert.pem"), first.cert); // the key is now another one
  const rematched = await ensureTlsMaterial(selfSigned(dir));
  assert.equal(rematched.generated, true);
  assert.match(rematched.reason ?? "", /did not match/);
});

test("tightens a loosened key file mode on reuse", async (t) => {
  const dir = tempDir(t);
  const m = await ensureTlsMaterial(selfSigned(dir));
  chmodSync(m.keyPath, 0o644);
  const again = await ensureTlsMaterial(selfSigned(dir));
  assert.equal(again.generated, false);
  assert.equal(statSync(m.keyPath).mode & 0o777, 0o600);
});

test("concurrent starts on one data directory generate once", async (t) => {
  const dir = tempDir(t);
  const all = await Promise.all([1, 2, 3, 4].map(() => ensureTlsMaterial(selfSigned(dir))));
  assert.equal(all.filter((m) => m.generated).length, 1);
  assert.equal(new Set(all.map((m) => m.fingerprint)).size, 1);
});

test("node:tls serves with the generated material", async (t) => {
  const m = await ensureTlsMaterial(selfSigned(tempDir(t)));
  const server = createServer({ cert: m.cert, key: m.key }, (socket) => socket.end("hello"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const peer = await new Promise<{ san: string; fp: string; data: string }>((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername: "example.test", rejectUnauthorized: false }, () => {
      const c = socket.getPeerCertificate();
      let data = "";
      socket.setEncoding("utf8");
      socket.on("data", (d: string) => (data += d));
      socket.on("end", () => resolve({ san: c.subjectaltname ?? "", fp: c.fingerprint256, data }));
    });
    socket.on("error", reject);
  });
  assert.equal(peer.san, "DNS:example.test, DNS:localhost");
  assert.equal(peer.fp, m.fingerprint);
  assert.equal(peer.data, "hello");
});

test("a configured pair is read as is, with warnings for a foreign name", async (t) => {
  const dir = tempDir(t);
  const made = await ensureTlsMaterial(selfSigned(dir, "other.example"));
  const m = await ensureTlsMaterial({ domain: "example.test", dataDir: dir, tls: { cert: made.certPath, key: made.keyPath } });
  assert.equal(m.source, "configured");
  assert.equal(m.generated, false);
  assert.equal(m.fingerprint, made.fingerprint);
  assert.equal(m.warnings.length, 1);
  assert.match(m.warnings[0], /does not name the domain example\.test/);
});

test("a configured pair that is missing, not PEM or mismatched is a clear error", async (t) => {
  const dir = tempDir(t);
  const a = await ensureTlsMaterial(selfSigned(join(dir, "a")));
  const b = await ensureTlsMaterial(selfSigned(join(dir, "b")));
  const cfg = (cert: string, key: string): TlsConfigInput => ({ domain: "example.test", dataDir: dir, tls: { cert, key } });

  await assert.rejects(ensureTlsMaterial(cfg(join(dir, "nope.pem"), a.keyPath)), (e: Error) => {
    assert.ok(e instanceof TlsConfigError);
    assert.equal(e.message, `tls.cert: cannot read ${join(dir, "nope.pem")}: no such file`);
    return true;
  });
  await assert.rejects(ensureTlsMaterial(cfg(a.certPath, join(dir, "nokey.pem"))), /^TlsConfigError: tls\.key: cannot read .*nokey\.pem: no such file/);
  writeFileSync(join(dir, "junk.pem"), "not a certificate");
  await assert.rejects(ensureTlsMaterial(cfg(join(dir, "junk.pem"), a.keyPath)), /tls\.cert: .*junk\.pem does not hold a PEM certificate/);
  await assert.rejects(ensureTlsMaterial(cfg(a.certPath, join(dir, "junk.pem"))), /tls\.key: .*junk\.pem does not hold a usable PEM private key/);
  await assert.rejects(ensureTlsMaterial(cfg(a.certPath, b.keyPath)), /tls\.key: .*b\/tls\/key\.pem does not match the certificate in .*a\/tls\/cert\.pem/);
  await assert.rejects(ensureTlsMaterial(cfg(a.certPath, "")), /tls\.cert and tls\.key must be set together/);
});
