import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { prepLocalpart } from "../../jid/jid.ts";
import { createPlainMechanism, deriveScramCredentials } from "./index.ts";
import type { CredentialLookup, SaslMechanismOptions, SaslStep, ScramCredentials, ScramHash } from "./index.ts";

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

const juliet256 = deriveScramCredentials("SHA-256", "r0meo ♥ pass");
const nurse1 = deriveScramCredentials("SHA-1", "pencil");
const lookup = store({
  juliet: { "SHA-256": juliet256, "SHA-1": deriveScramCredentials("SHA-1", "an older password") },
  nurse: { "SHA-1": nurse1 },
  "café": { "SHA-256": deriveScramCredentials("SHA-256", "caf\u00E9") },
});

const msg = (authzid: string, authcid: string, pw: string): Buffer => Buffer.from(`${authzid}\0${authcid}\0${pw}`, "utf8");
function plain(opts: SaslMechanismOptions = { domain: "example.com" }, l: CredentialLookup = lookup) {
  return createPlainMechanism(l, prepLocalpart, opts);
}
function assertFailure(step: SaslStep, condition: string, text?: RegExp): void {
  assert.equal(step.kind, "failure", `expected failure, got ${JSON.stringify(step)}`);
  if (step.kind !== "failure") return;
  assert.equal(step.condition, condition);
  if (text !== undefined) assert.match(step.text ?? "", text);
}
function assertSuccess(step: SaslStep, username: string): void {
  assert.equal(step.kind, "success", `expected success, got ${JSON.stringify(step)}`);
  assert.equal(step.kind === "success" && step.username, username);
}

describe("PLAIN", () => {
  it("is named PLAIN", () => assert.equal(plain().name, "PLAIN"));

  it("succeeds against SCRAM-SHA-256 credentials (preferred over SHA-1)", async () => {
    assertSuccess(await plain().start(msg("", "juliet", "r0meo ♥ pass")), "juliet");
    // The SHA-1 verifier holds another password: it must not be consulted when SHA-256 exists.
    assertFailure(await plain().start(msg("", "juliet", "an older password")), "not-authorized");
  });

  it("falls back to SCRAM-SHA-1 credentials", async () => {
    const l = store({ nurse: { "SHA-1": nurse1 } });
    assertSuccess(await plain({}, l).start(msg("", "nurse", "pencil")), "nurse");
    assert.deepEqual(l.calls, ["nurse:SHA-256", "nurse:SHA-1"]);
  });

  it("prepares username (case mapping) and password (NFC, spaces)", async () => {
    assertSuccess(await plain().start(msg("", "JULIET", "r0meo\u00A0♥\u2002pass")), "juliet");
    assertSuccess(await plain().start(msg("", "CAFE\u0301", "cafe\u0301")), "café");
  });

  it("wrong password and unknown user fail the same way", async () => {
    const wrong = await plain().start(msg("", "juliet", "nope"));
    const unknown = await plain().start(msg("", "tybalt", "nope"));
    const invalidName = await plain().start(msg("", "ty balt", "nope"));
    const badPassword = await plain().start(msg("", "juliet", "bad\u0007"));
    assertFailure(wrong, "not-authorized");
    assert.deepEqual(unknown, wrong);
    assert.deepEqual(invalidName, wrong);
    assert.deepEqual(badPassword, wrong);
  });

  it("authzid: empty or the user's own bare JID; anything else is invalid-authzid", async () => {
    assertSuccess(await plain().start(msg("juliet@example.com", "juliet", "r0meo ♥ pass")), "juliet");
    assertSuccess(await plain().start(msg("Juliet@EXAMPLE.com", "juliet", "r0meo ♥ pass")), "juliet");
    assertFailure(await plain().start(msg("romeo@example.com", "juliet", "r0meo ♥ pass")), "invalid-authzid");
    assertFailure(await plain().start(msg("juliet@example.net", "juliet", "r0meo ♥ pass")), "invalid-authzid");
    assertFailure(await plain().start(msg("juliet@example.com/balcony", "juliet", "r0meo ♥ pass")), "invalid-authzid");
    assertFailure(await plain().start(msg("not a jid", "juliet", "r0meo ♥ pass")), "invalid-authzid");
    // Authorization is only decided after authentication.
    assertFailure(await plain().start(msg("romeo@example.com", "juliet", "wrong")), "not-authorized");
  });

  it("without an initial response sends an empty challenge first", async () => {
    const m = plain();
    const c = await m.start(null);
    assert.equal(c.kind, "challenge");
    assert.equal(c.kind === "challenge" && c.data.length, 0);
    assertSuccess(await m.next(msg("", "juliet", "r0meo ♥ pass")), "juliet");
    assertFailure(await m.next(msg("", "juliet", "r0meo ♥ pass")), "malformed-request");
  });

  it("malformed messages → malformed-request with a reason", async () => {
    assertFailure(await plain().start(Buffer.from("juliet", "utf8")), "malformed-request", /NUL/);
    assertFailure(await plain().start(Buffer.alloc(0)), "malformed-request", /NUL/);
    assertFailure(await plain().start(msg("", "", "pw")), "malformed-request", /authentication identity/);
    assertFailure(await plain().start(msg("", "juliet", "")), "malformed-request", /password/);
    assertFailure(await plain().start(Buffer.from("\0juliet\0a\0b", "utf8")), "malformed-request", /NUL/);
    assertFailure(await plain().start(Buffer.from([0, 0x6a, 0, 0xc3])), "malformed-request", /UTF-8/);
    assertFailure(await plain().start(msg("", "juliet", "x".repeat(5000))), "malformed-request", /4096/);
  });

  it("lookup errors → temporary-auth-failure", async () => {
    const broken: CredentialLookup = {
      async getScram() {
        throw new Error("db down");
      },
    };
    assertFailure(await plain({}, broken).start(msg("", "juliet", "x")), "temporary-auth-failure");
  });
});
