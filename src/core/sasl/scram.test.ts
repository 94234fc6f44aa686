import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { prepLocalpart } from "../../jid/jid.ts";
import {
  DEFAULT_ITERATIONS,
  PasswordError,
  createScramMechanism,
  deriveScramCredentials,
  preparePassword,
  verifyPassword,
} from "./index.ts";
import type { CredentialLookup, SaslMechanism, SaslStep, ScramCredentials, ScramHash } from "./index.ts";
import type { ScramOptions } from "./scram.ts";
import { hmac } from "./password.ts";

const RFC5802 = {
  clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
  serverNonce: "3rfcNHYJY1ZVvWVs7j",
  serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
  clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
  serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
  salt: "QSXCR+Q6sek8bf92",
};

const RFC7677 = {
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal:
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
  salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
};

/** In-memory credential store: user → hash → creds. */
function store(entries: Record<string, Partial<Record<ScramHash, ScramCredentials>>>): CredentialLookup & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async getScram(username, hash) {
      calls.push(`${username}:${hash}`);
      return entries[username]?.[hash];
    },
  };
}

const b = (s: string): Buffer => Buffer.from(s, "utf8");
const str = (step: SaslStep): string => {
  assert.ok(step.kind === "challenge" || step.kind === "success", `expected challenge/success, got ${JSON.stringify(step)}`);
  return step.data?.toString("utf8") ?? "";
};
function assertFailure(step: SaslStep, condition: string, text?: RegExp): void {
  assert.equal(step.kind, "failure", `expected failure, got ${JSON.stringify(step)}`);
  if (step.kind !== "failure") return;
  assert.equal(step.condition, condition);
  if (text !== undefined) assert.match(step.text ?? "", text);
}

/** A minimal SCRAM client for exchanges the RFCs do not spell out. */
function clientFinalFor(hash: ScramHash, password: string, clientFirstBare: string, gs2: string, serverFirst: string): string {
  const alg = hash === "SHA-1" ? "sha1" : "sha256";
  const attrs = Object.fromEntries(serverFirst.split(",").map((a) => [a[0], a.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs.s, "base64"), Number(attrs.i), hash === "SHA-1" ? 20 : 32, alg);
  const clientKey = createHmac(alg, salted).update("Client Key").digest();
  const storedKey = createHash(alg).update(clientKey).digest();
  const withoutProof = `c=${Buffer.from(gs2).toString("base64")},r=${attrs.r}`;
  const sig = createHmac(alg, storedKey).update(`${clientFirstBare},${serverFirst},${withoutProof}`).digest();
  const proof = Buffer.from(clientKey.map((x, i) => x ^ sig[i]));
  return `${withoutProof},p=${proof.toString("base64")}`;
}

async function login(
  mech: SaslMechanism,
  hash: ScramHash,
  user: string,
  password: string,
  gs2 = "n,,",
): Promise<{ serverFirst: string; final: SaslStep }> {
  const bare = `n=${user},r=clientnonce123`;
  const first = await mech.start(b(gs2 + bare));
  if (first.kind !== "challenge") return { serverFirst: "", final: first };
  const serverFirst = str(first);
  const final = await mech.next(b(clientFinalFor(hash, password, bare, gs2, serverFirst)));
  return { serverFirst, final };
}

const pencil1 = deriveScramCredentials("SHA-1", "pencil", { salt: Buffer.from(RFC5802.salt, "base64"), iterations: 4096 });
const pencil256 = deriveScramCredentials("SHA-256", "pencil", { salt: Buffer.from(RFC7677.salt, "base64"), iterations: 4096 });

function mech(hash: ScramHash, lookup: CredentialLookup, opts: ScramOptions = {}): SaslMechanism {
  return createScramMechanism(hash, lookup, prepLocalpart, opts);
}

describe("SCRAM: RFC test vectors", () => {
  it("RFC 5802 §5 SCRAM-SHA-1 exchange, byte for byte", async () => {
    const m = mech("SHA-1", store({ user: { "SHA-1": pencil1 } }), { serverNonce: () => RFC5802.serverNonce });
    assert.equal(m.name, "SCRAM-SHA-1");
    assert.equal(str(await m.start(b(RFC5802.clientFirst))), RFC5802.serverFirst);
    const fin = await m.next(b(RFC5802.clientFinal));
    assert.equal(fin.kind, "success");
    assert.equal(fin.kind === "success" && fin.username, "user");
    assert.equal(str(fin), RFC5802.serverFinal);
  });

  it("RFC 7677 §3 SCRAM-SHA-256 exchange, byte for byte", async () => {
    const m = mech("SHA-256", store({ user: { "SHA-256": pencil256 } }), { serverNonce: () => RFC7677.serverNonce });
    assert.equal(m.name, "SCRAM-SHA-256");
    assert.equal(str(await m.start(b(RFC7677.clientFirst))), RFC7677.serverFirst);
    const fin = await m.next(b(RFC7677.clientFinal));
    assert.equal(fin.kind === "success" && fin.username, "user");
    assert.equal(str(fin), RFC7677.serverFinal);
  });

  it("works without an initial response (empty challenge first)", async () => {
    const m = mech("SHA-1", store({ user: { "SHA-1": pencil1 } }), { serverNonce: () => RFC5802.serverNonce });
    const c = await m.start(null);
    assert.equal(c.kind, "challenge");
    assert.equal(str(c), "");
    assert.equal(str(await m.next(b(RFC5802.clientFirst))), RFC5802.serverFirst);
    assert.equal(str(await m.next(b(RFC5802.clientFinal))), RFC5802.serverFinal);
  });
});

describe("SCRAM: authentication", () => {
  const creds = deriveScramCredentials("SHA-256", "correct horse");
  const lookup = store({ juliet: { "SHA-256": creds } });

  it("succeeds with a generated nonce and default parameters", async () => {
    const { serverFirst, final } = await login(mech("SHA-256", lookup), "SHA-256", "juliet", "correct horse");
    assert.match(serverFirst, /^r=clientnonce123[A-Za-z0-9+/=]{24},s=[A-Za-z0-9+/=]{24},i=10000$/);
    assert.equal(final.kind === "success" && final.username, "juliet");
  });

  it("prepares the username (case mapping) before the lookup", async () => {
    const { final } = await login(mech("SHA-256", lookup), "SHA-256", "JULIET", "correct horse");
    assert.equal(final.kind === "success" && final.username, "juliet");
  });

  it("decodes =2C and =3D in the username", async () => {
    const l = store({ "a,b=c": { "SHA-1": pencil1 } });
    const { final } = await login(mech("SHA-1", l), "SHA-1", "a=2Cb=3Dc", "pencil");
    assert.equal(final.kind === "success" && final.username, "a,b=c");
  });

  it("wrong password → not-authorized", async () => {
    const { final } = await login(mech("SHA-256", lookup), "SHA-256", "juliet", "wrong");
    assertFailure(final, "not-authorized");
  });

  it("unknown user is indistinguishable from a wrong password", async () => {
    const known = await login(mech("SHA-256", lookup), "SHA-256", "juliet", "wrong");
    const unknown1 = await login(mech("SHA-256", lookup), "SHA-256", "romeo", "wrong");
    const unknown2 = await login(mech("SHA-256", lookup), "SHA-256", "romeo", "other");
    // Same shape of server-first-message (salt length, iteration count)…
    const shape = (s: string) => s.replace(/^r=clientnonce123[^,]{24}/, "r=N").replace(/s=[^,]{24}/, "s=S");
    assert.equal(shape(unknown1.serverFirst), shape(known.serverFirst));
    // …a stable salt for the same unknown name…
    assert.equal(unknown1.serverFirst.split(",")[1], unknown2.serverFirst.split(",")[1]);
    // …and the same failure.
    assert.deepEqual(unknown1.final, known.final);
    // Even the right password of someone else's account does not help.
    const other = await login(mech("SHA-256", lookup), "SHA-256", "romeo", "correct horse");
    assert.deepEqual(other.final, known.final);
  });

  it("unknown-user salts depend on the configured secret (share it across a cluster)", async () => {
    const s1 = (await login(mech("SHA-1", lookup, { fakeSaltSecret: Buffer.alloc(32, 1) }), "SHA-1", "x", "p")).serverFirst;
    const s2 = (await login(mech("SHA-1", lookup, { fakeSaltSecret: Buffer.alloc(32, 1) }), "SHA-1", "x", "p")).serverFirst;
    const s3 = (await login(mech("SHA-1", lookup, { fakeSaltSecret: Buffer.alloc(32, 2) }), "SHA-1", "x", "p")).serverFirst;
    const salt = (s: string) => s.split(",")[1];
    assert.equal(salt(s1), salt(s2));
    assert.notEqual(salt(s1), salt(s3));
    assert.match(s1, /,i=4096$/);
  });

  it("accepts the 'y' flag when -PLUS is not advertised, refuses it when it is", async () => {
    const ok = await login(mech("SHA-256", lookup), "SHA-256", "juliet", "correct horse", "y,,");
    assert.equal(ok.final.kind, "success");
    const down = await mech("SHA-256", lookup, { plusAdvertised: true }).start(b("y,,n=juliet,r=abc"));
    assertFailure(down, "not-authorized", /downgrade/);
  });

  it("authzid: empty or the user's bare JID is fine, anything else → invalid-authzid", async () => {
    const opts = { domain: "Example.COM" };
    const same = await login(mech("SHA-256", lookup, opts), "SHA-256", "juliet", "correct horse", "n,a=juliet@example.com,");
    assert.equal(same.final.kind, "success");
    const other = await login(mech("SHA-256", lookup, opts), "SHA-256", "juliet", "correct horse", "n,a=romeo@example.com,");
    assertFailure(other.final, "invalid-authzid");
    const full = await login(mech("SHA-256", lookup, opts), "SHA-256", "juliet", "correct horse", "n,a=juliet@example.com/r,");
    assertFailure(full.final, "invalid-authzid");
    const elsewhere = await login(mech("SHA-256", lookup, opts), "SHA-256", "juliet", "correct horse", "n,a=juliet@example.net,");
    assertFailure(elsewhere.final, "invalid-authzid");
    // A wrong password with an authzid is still just not-authorized.
    const wrong = await login(mech("SHA-256", lookup, opts), "SHA-256", "juliet", "nope", "n,a=romeo@example.com,");
    assertFailure(wrong.final, "not-authorized");
  });

  it("authzid: a custom authorize hook decides", async () => {
    const m = mech("SHA-256", lookup, { authorize: (u, a) => u === "juliet" && a === "admin@example.com" });
    const r = await login(m, "SHA-256", "juliet", "correct horse", "n,a=admin@example.com,");
    assert.equal(r.final.kind, "success");
  });

  it("lookup errors → temporary-auth-failure; unusable stored credentials too", async () => {
    const broken: CredentialLookup = {
      async getScram() {
        throw new Error("db down");
      },
    };
    assertFailure(await mech("SHA-1", broken).start(b("n,,n=user,r=abc")), "temporary-auth-failure");
    const bad = store({ user: { "SHA-1": { ...pencil1, storedKey: "AAAA" } } });
    assertFailure(await mech("SHA-1", bad).start(b("n,,n=user,r=abc")), "temporary-auth-failure");
  });
});

describe("SCRAM: malformed input → malformed-request with a reason", () => {
  const lookup = store({ user: { "SHA-1": pencil1 } });
  const first = async (msg: string | Buffer) => mech("SHA-1", lookup).start(typeof msg === "string" ? b(msg) : msg);

  it("client-first-message", async () => {
    assertFailure(await first("p=tls-unique,,n=user,r=abc"), "malformed-request", /channel binding/);
    assertFailure(await first("x,,n=user,r=abc"), "malformed-request", /flag/);
    assertFailure(await first("n"), "malformed-request", /GS2/);
    assertFailure(await first("n,n=user,r=abc"), "malformed-request", /authzid|GS2/);
    assertFailure(await first("n,,r=abc,n=user"), "malformed-request", /n=<username>/);
    assertFailure(await first("n,,n=user"), "malformed-request", /r=<nonce>/);
    assertFailure(await first("n,,n=,r=abc"), "malformed-request", /username/);
    assertFailure(await first("n,,n=us=er,r=abc"), "malformed-request", /=2C/);
    assertFailure(await first("n,,n=user,r="), "malformed-request", /nonce/);
    assertFailure(await first("n,,n=user,r=a b"), "malformed-request", /nonce/);
    assertFailure(await first("n,,m=ext,n=user,r=abc"), "malformed-request", /extensions/);
    assertFailure(await first("n,,n=user,r=abc,bogus"), "malformed-request", /extension/);
    assertFailure(await first(Buffer.from([0x6e, 0x2c, 0x2c, 0xff])), "malformed-request", /UTF-8/);
    assertFailure(await first(Buffer.alloc(0)), "malformed-request", /empty/);
    assertFailure(await first("n,,n=user,r=" + "a".repeat(5000)), "malformed-request", /4096 bytes/);
  });

  it("ignores unknown extensions in client-first-message", async () => {
    const m = mech("SHA-1", lookup, { serverNonce: () => "S" });
    assert.equal(str(await m.start(b("n,,n=user,r=abc,x=whatever"))), `r=abcS,s=${RFC5802.salt},i=4096`);
  });

  it("client-final-message", async () => {
    const final = async (msg: string) => {
      const m = mech("SHA-1", lookup, { serverNonce: () => RFC5802.serverNonce });
      await m.start(b(RFC5802.clientFirst));
      return m.next(b(msg));
    };
    const nonce = "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
    const proof = "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    assertFailure(await final(`c=biws,r=${nonce}`), "malformed-request", /proof/);
    assertFailure(await final(`r=${nonce},c=biws,p=${proof}`), "malformed-request", /c=<binding>/);
    assertFailure(await final(`c=biws,r=${nonce},p=not*base64`), "malformed-request", /base64/);
    assertFailure(await final(`c=biws,r=${nonce},p=AAAA`), "malformed-request", /20 bytes/);
    assertFailure(await final(`c=bi,r=${nonce},p=${proof}`), "malformed-request", /base64/);
    assertFailure(await final(`c=eSws,r=${nonce},p=${proof}`), "not-authorized", /channel binding/);
    assertFailure(await final(`c=biws,r=${nonce}X,p=${proof}`), "not-authorized", /nonce/);
    assertFailure(await final(`c=biws,r=fyko+d2lbbFgONRv9qkxdawL,p=${proof}`), "not-authorized", /nonce/);
    assertFailure(await final(`c=biws,r=${nonce},p=${proof.replace("v0", "w0")}`), "not-authorized");
  });

  it("refuses to continue after the exchange ended", async () => {
    const m = mech("SHA-1", lookup, { serverNonce: () => RFC5802.serverNonce });
    await m.start(b(RFC5802.clientFirst));
    assert.equal((await m.next(b(RFC5802.clientFinal))).kind, "success");
    assertFailure(await m.next(b(RFC5802.clientFinal)), "malformed-request");
    assertFailure(await m.start(b(RFC5802.clientFirst)), "malformed-request");
    const failed = mech("SHA-1", lookup);
    await failed.start(b("x,,"));
    assertFailure(await failed.next(b(RFC5802.clientFirst)), "malformed-request");
  });
});

describe("credentials and passwords", () => {
  it("hmac() matches createHmac() for SHA-1 and SHA-256, short and long keys, string and bytes", () => {
    for (const alg of ["sha1", "sha256"] as const) {
      for (const key of [Buffer.alloc(0), Buffer.from("k"), Buffer.alloc(20, 7), Buffer.alloc(64, 9), Buffer.alloc(100, 3)]) {
        for (const data of ["", "n=user,r=abc", "ünïcödé,r=x", Buffer.from([0, 1, 2, 255])]) {
          assert.deepEqual(hmac(alg, key, data), createHmac(alg, key).update(data).digest());
        }
      }
    }
  });

  it("deriveScramCredentials reproduces the RFC 5802 verifier", () => {
    // The RFC exchange above succeeding proves the keys; check the parameters are kept.
    assert.equal(pencil1.salt, RFC5802.salt);
    assert.equal(pencil1.iterations, 4096);
    assert.equal(Buffer.from(pencil1.storedKey, "base64").length, 20);
    assert.equal(Buffer.from(pencil256.serverKey, "base64").length, 32);
  });

  it("uses the default iteration counts and random 16-byte salts", () => {
    const a = deriveScramCredentials("SHA-1", "x");
    const c = deriveScramCredentials("SHA-256", "x");
    assert.equal(a.iterations, DEFAULT_ITERATIONS["SHA-1"]);
    assert.equal(c.iterations, DEFAULT_ITERATIONS["SHA-256"]);
    assert.equal(Buffer.from(a.salt, "base64").length, 16);
    assert.notEqual(a.salt, deriveScramCredentials("SHA-1", "x").salt);
  });

  it("bounds the iteration count", () => {
    assert.throws(() => deriveScramCredentials("SHA-1", "x", { iterations: 1000 }), RangeError);
    assert.throws(() => deriveScramCredentials("SHA-1", "x", { iterations: 2_000_000 }), RangeError);
    assert.throws(() => deriveScramCredentials("SHA-1", "x", { iterations: 4096.5 }), RangeError);
  });

  it("verifyPassword", () => {
    assert.equal(verifyPassword(pencil1, "SHA-1", "pencil"), true);
    assert.equal(verifyPassword(pencil1, "SHA-1", "Pencil"), false);
    assert.equal(verifyPassword(pencil256, "SHA-256", "pencil"), true);
    assert.equal(verifyPassword(pencil256, "SHA-1", "pencil"), false); // wrong key length for the hash
    assert.equal(verifyPassword(pencil1, "SHA-1", "bad\u0000"), false);
  });

  it("preparePassword applies OpaqueString", () => {
    assert.equal(preparePassword("pencil"), "pencil");
    assert.equal(preparePassword("Pass Word"), "Pass Word"); // case and ASCII space preserved
    assert.equal(preparePassword("a\u00A0b\u2003c"), "a b c"); // non-ASCII spaces → U+0020
    assert.equal(preparePassword("e\u0301"), "\u00E9"); // NFC
    assert.equal(preparePassword("\uFB01"), "\uFB01"); // no compatibility mapping (SASLprep would give "fi")
    assert.throws(() => preparePassword(""), PasswordError);
    assert.throws(() => preparePassword("secret\u0007"), /control/);
    assert.throws(() => preparePassword("se\u00ADcret"), /ignorable/);
    assert.throws(
      () => preparePassword("hunter2\u0007"),
      (e: unknown) => e instanceof PasswordError && !e.message.includes("hunter2") && !e.message.includes("U+0007"),
    );
  });

  it("passwords that differ only by normalisation derive the same keys", () => {
    const salt = Buffer.alloc(16, 7);
    assert.deepEqual(
      deriveScramCredentials("SHA-256", "caf\u00E9\u00A0x", { salt }),
      deriveScramCredentials("SHA-256", "cafe\u0301 x", { salt }),
    );
  });
});
