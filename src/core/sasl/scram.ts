// SCRAM-SHA-1 / SCRAM-SHA-256 server (RFC 5802, RFC 7677), without channel binding
// (the -PLUS variants are not offered).

import { hash as oneShotHash, timingSafeEqual } from "node:crypto";
import { randomToken } from "../random.ts";
import { authzidAllowed, decodeUtf8, failure, fakeCredentials, prepOrUndefined } from "./common.ts";
import { decodeBase64Strict, decodeCredentials, hashAlgorithm, hashLength, hmac } from "./password.ts";
import type { DecodedCredentials } from "./password.ts";
import { MAX_SASL_MESSAGE_BYTES } from "./types.ts";
import type { CredentialLookup, SaslMechanism, SaslMechanismOptions, SaslStep, ScramHash } from "./types.ts";

export interface ScramOptions extends SaslMechanismOptions {
  /** Server part of the nonce (printable ASCII, no ","). Injectable for tests; default 24 random base64 characters. */
  serverNonce?: () => string;
  /**
   * Set when the matching -PLUS mechanism is advertised: a client that then says "y"
   * (supports channel binding, thinks the server does not) is being downgraded and fails.
   */
  plusAdvertised?: boolean;
}

/** Longest client nonce accepted (characters). */
const MAX_NONCE = 512;
/** c-nonce / s-nonce: printable ASCII except "," (RFC 5802 §7). */
const RE_PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
/** saslname: UTF-8 without NUL, "," or a bare "=" (RFC 5802 §7). */
const RE_SASLNAME = /^(?:[^\0,=]|=2C|=3D)+$/u;
const RE_ATTR = /^[A-Za-z]=/;

function decodeSaslname(s: string): string | undefined {
  if (!RE_SASLNAME.test(s)) return undefined;
  return s.replace(/=2C|=3D/g, (m) => (m === "=2C" ? "," : "="));
}

type State = "start" | "client-first" | "client-final" | "done";

interface Exchange {
  gs2Header: string;
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
  creds: DecodedCredentials;
  /** Prepared username; undefined when the user does not exist (or the name is invalid). */
  user: string | undefined;
  authzid: string;
}

class ScramServer implements SaslMechanism {
  readonly name: string;
  readonly #hash: ScramHash;
  readonly #lookup: CredentialLookup;
  readonly #prepUsername: (u: string) => string;
  readonly #opts: ScramOptions;
  #state: State = "start";
  #ex: Exchange | undefined;
  #identity: string | undefined;

  constructor(hash: ScramHash, lookup: CredentialLookup, prepUsername: (u: string) => string, opts: ScramOptions) {
    this.name = `SCRAM-${hash}`;
    this.#hash = hash;
    this.#lookup = lookup;
    this.#prepUsername = prepUsername;
    this.#opts = opts;
  }

  /** The claimed authentication identity, once read (see SaslMechanism.username). */
  get username(): string | undefined {
    return this.#identity;
  }

  async start(initial: Buffer | null): Promise<SaslStep> {
    if (this.#state !== "start") return this.#fail("malformed-request", "the exchange has already started");
    if (initial === null) {
      // No initial response: ask for the client-first-message with an empty challenge.
      this.#state = "client-first";
      return { kind: "challenge", data: Buffer.alloc(0) };
    }
    return this.#clientFirst(initial);
  }

  async next(response: Buffer): Promise<SaslStep> {
    switch (this.#state) {
      case "client-first":
        return this.#clientFirst(response);
      case "client-final":
        return this.#clientFinal(response);
      default:
        return this.#fail("malformed-request", "no response was expected at this point of the exchange");
    }
  }

  #fail(condition: Parameters<typeof failure>[0], text?: string): SaslStep {
    this.#state = "done";
    this.#ex = undefined;
    return failure(condition, text);
  }

  async #clientFirst(msg: Buffer): Promise<SaslStep> {
    if (msg.length === 0) return this.#fail("malformed-request", "empty client-first-message");
    if (msg.length > MAX_SASL_MESSAGE_BYTES) {
      return this.#fail("malformed-request", `client-first-message is longer than ${MAX_SASL_MESSAGE_BYTES} bytes`);
    }
    const s = decodeUtf8(msg);
    if (s === undefined) return this.#fail("malformed-request", "client-first-message is not valid UTF-8");

    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const c1 = s.indexOf(",");
    if (c1 < 0) return this.#fail("malformed-request", "missing GS2 header");
    const flag = s.slice(0, c1);
    if (flag.startsWith("p=")) {
      return this.#fail("malformed-request", `channel binding is not supported (use ${this.name}, not ${this.name}-PLUS)`);
    }
    if (flag === "y") {
      if (this.#opts.plusAdvertised === true) {
        return this.#fail("not-authorized", "client claims the server does not support channel binding (downgrade?)");
      }
    } else if (flag !== "n") {
      return this.#fail("malformed-request", `invalid GS2 channel binding flag ${JSON.stringify(flag.slice(0, 16))}`);
    }
    const c2 = s.indexOf(",", c1 + 1);
    if (c2 < 0) return this.#fail("malformed-request", "GS2 header is not terminated by ','");
    const authzField = s.slice(c1 + 1, c2);
    let authzid = "";
    if (authzField !== "") {
      if (!authzField.startsWith("a=")) return this.#fail("malformed-request", "GS2 header: authzid must start with 'a='");
      const a = decodeSaslname(authzField.slice(2));
      if (a === undefined) return this.#fail("malformed-request", "GS2 header: authzid is not a valid saslname");
      authzid = a;
    }
    const gs2Header = s.slice(0, c2 + 1);
    const bare = s.slice(c2 + 1);

    // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    const attrs = bare.split(",");
    if (attrs[0].startsWith("m=")) {
      return this.#fail("malformed-request", "mandatory SCRAM extensions (m=) are not supported");
    }
    if (attrs.length < 2 || !attrs[0].startsWith("n=") || !attrs[1].startsWith("r=")) {
      return this.#fail("malformed-request", "client-first-message-bare must be 'n=<username>,r=<nonce>[,...]'");
    }
    for (const a of attrs.slice(2)) {
      if (!RE_ATTR.test(a)) return this.#fail("malformed-request", "malformed extension attribute in client-first-message");
    }
    const rawUser = decodeSaslname(attrs[0].slice(2));
    if (rawUser === undefined) {
      return this.#fail("malformed-request", "username is empty or badly encoded (',' and '=' must be sent as =2C and =3D)");
    }
    const cnonce = attrs[1].slice(2);
    if (!RE_PRINTABLE.test(cnonce) || cnonce.length > MAX_NONCE) {
      return this.#fail("malformed-request", "client nonce must be 1 to 512 printable ASCII characters other than ','");
    }

    // Look the user up. Unknown or invalid names continue with stand-in credentials and
    // fail at the end exactly like a wrong password.
    const user = prepOrUndefined(this.#prepUsername, rawUser);
    this.#identity = user ?? rawUser;
    const refused = this.#opts.checkIdentity?.(this.#identity);
    if (refused) return this.#fail(refused.condition, refused.text);
    let creds: DecodedCredentials | undefined;
    if (user !== undefined) {
      let stored;
      try {
        stored = await this.#lookup.getScram(user, this.#hash);
      } catch {
        return this.#fail("temporary-auth-failure");
      }
      if (stored !== undefined) {
        creds = decodeCredentials(stored, this.#hash);
        if (creds === undefined) return this.#fail("temporary-auth-failure", "stored credentials are unusable");
      }
    }
    const known = creds !== undefined;
    creds ??= fakeCredentials(this.#hash, user ?? rawUser, this.#opts);

    const snonce = this.#opts.serverNonce?.() ?? randomToken(18, "base64");
    if (!RE_PRINTABLE.test(snonce)) throw new Error("server nonce must be printable ASCII without ','");
    const nonce = cnonce + snonce;
    const serverFirst = `r=${nonce},s=${creds.salt.toString("base64")},i=${creds.iterations}`;
    this.#ex = {
      gs2Header,
      clientFirstBare: bare,
      serverFirst,
      nonce,
      creds,
      user: known ? user : undefined,
      authzid,
    };
    this.#state = "client-final";
    return { kind: "challenge", data: Buffer.from(serverFirst, "utf8") };
  }

  async #clientFinal(msg: Buffer): Promise<SaslStep> {
    const ex = this.#ex!;
    if (msg.length > MAX_SASL_MESSAGE_BYTES) {
      return this.#fail("malformed-request", `client-final-message is longer than ${MAX_SASL_MESSAGE_BYTES} bytes`);
    }
    const s = decodeUtf8(msg);
    if (s === undefined) return this.#fail("malformed-request", "client-final-message is not valid UTF-8");

    // client-final-message = channel-binding "," nonce ["," extensions] "," proof
    const p = s.lastIndexOf(",p=");
    if (p < 0) return this.#fail("malformed-request", "client-final-message has no proof (p=)");
    const withoutProof = s.slice(0, p);
    const attrs = withoutProof.split(",");
    if (attrs.length < 2 || !attrs[0].startsWith("c=") || !attrs[1].startsWith("r=")) {
      return this.#fail("malformed-request", "client-final-message must be 'c=<binding>,r=<nonce>[,...],p=<proof>'");
    }
    for (const a of attrs.slice(2)) {
      if (!RE_ATTR.test(a)) return this.#fail("malformed-request", "malformed extension attribute in client-final-message");
    }
    const cbind = decodeBase64Strict(attrs[0].slice(2));
    if (cbind === undefined) return this.#fail("malformed-request", "channel binding (c=) is not valid base64");
    const proof = decodeBase64Strict(s.slice(p + 3));
    if (proof === undefined) return this.#fail("malformed-request", "proof (p=) is not valid base64");
    if (proof.length !== hashLength(this.#hash)) {
      return this.#fail("malformed-request", `proof must be ${hashLength(this.#hash)} bytes for ${this.name}`);
    }
    // Without channel binding, c= carries exactly the GS2 header ("biws" for "n,,").
    if (!cbind.equals(Buffer.from(ex.gs2Header, "utf8"))) {
      return this.#fail("not-authorized", "channel binding data (c=) does not match the GS2 header");
    }
    if (attrs[1].slice(2) !== ex.nonce) return this.#fail("not-authorized", "nonce (r=) does not match");

    const alg = hashAlgorithm(this.#hash);
    const authMessage = `${ex.clientFirstBare},${ex.serverFirst},${withoutProof}`;
    // hmac()/oneShotHash instead of createHmac()/createHash(): ~40 µs less per login (password.ts).
    const clientSignature = hmac(alg, ex.creds.storedKey, authMessage);
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ clientSignature[i];
    const computed = oneShotHash(alg, clientKey, "buffer");
    const match = timingSafeEqual(computed, ex.creds.storedKey);
    if (!match || ex.user === undefined) return this.#fail("not-authorized");

    if (!(await authzidAllowed(ex.user, ex.authzid, this.#opts))) {
      return this.#fail("invalid-authzid", "the authenticated user may not act as the requested authorization identity");
    }
    const serverSignature = hmac(alg, ex.creds.serverKey, authMessage);
    const username = ex.user;
    this.#state = "done";
    this.#ex = undefined;
    return { kind: "success", username, data: Buffer.from(`v=${serverSignature.toString("base64")}`, "utf8") };
  }
}

/** A fresh SCRAM-SHA-1 or SCRAM-SHA-256 server exchange. */
export function createScramMechanism(
  hash: ScramHash,
  lookup: CredentialLookup,
  prepUsername: (u: string) => string,
  opts: ScramOptions = {},
): SaslMechanism {
  return new ScramServer(hash, lookup, prepUsername, opts);
}
