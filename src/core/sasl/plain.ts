// PLAIN (RFC 4616) verified against the stored SCRAM verifiers: the password is prepared
// and run through PBKDF2 with the stored salt and iteration count, and the resulting
// StoredKey compared in constant time. SCRAM-SHA-256 credentials are preferred, SCRAM-SHA-1
// is the fallback. Only offer PLAIN on encrypted streams.

import { authzidAllowed, decodeUtf8, failure, fakeCredentials, prepOrUndefined } from "./common.ts";
import { DEFAULT_ITERATIONS, burnPasswordWork, verifyPasswordAsync } from "./password.ts";
import { MAX_SASL_MESSAGE_BYTES } from "./types.ts";
import type {
  CredentialLookup,
  SaslMechanism,
  SaslMechanismOptions,
  SaslStep,
  ScramCredentials,
  ScramHash,
} from "./types.ts";

const PREFERENCE: readonly ScramHash[] = ["SHA-256", "SHA-1"];

class PlainServer implements SaslMechanism {
  readonly name = "PLAIN";
  readonly #lookup: CredentialLookup;
  readonly #prepUsername: (u: string) => string;
  readonly #opts: SaslMechanismOptions;
  #state: "start" | "waiting" | "done" = "start";
  #identity: string | undefined;

  constructor(lookup: CredentialLookup, prepUsername: (u: string) => string, opts: SaslMechanismOptions) {
    this.#lookup = lookup;
    this.#prepUsername = prepUsername;
    this.#opts = opts;
  }

  /** The claimed authentication identity, once read (see SaslMechanism.username). */
  get username(): string | undefined {
    return this.#identity;
  }

  async start(initial: Buffer | null): Promise<SaslStep> {
    if (this.#state !== "start") return this.#done(failure("malformed-request", "the exchange has already started"));
    if (initial === null) {
      this.#state = "waiting";
      return { kind: "challenge", data: Buffer.alloc(0) };
    }
    return this.#done(await this.#verify(initial));
  }

  async next(response: Buffer): Promise<SaslStep> {
    if (this.#state !== "waiting") {
      return this.#done(failure("malformed-request", "no response was expected at this point of the exchange"));
    }
    return this.#done(await this.#verify(response));
  }

  #done(step: SaslStep): SaslStep {
    this.#state = "done";
    return step;
  }

  async #verify(msg: Buffer): Promise<SaslStep> {
    // message = [authzid] UTF8NUL authcid UTF8NUL passwd
    if (msg.length > MAX_SASL_MESSAGE_BYTES) {
      return failure("malformed-request", `PLAIN message is longer than ${MAX_SASL_MESSAGE_BYTES} bytes`);
    }
    const s = decodeUtf8(msg);
    if (s === undefined) return failure("malformed-request", "PLAIN message is not valid UTF-8");
    const parts = s.split("\0");
    if (parts.length !== 3) {
      return failure("malformed-request", "PLAIN message must be [authzid] NUL authcid NUL password");
    }
    const [authzid, authcid, password] = parts;
    if (authcid === "") return failure("malformed-request", "empty authentication identity");
    if (password === "") return failure("malformed-request", "empty password");

    const user = prepOrUndefined(this.#prepUsername, authcid);
    this.#identity = user ?? authcid;
    const refused = this.#opts.checkIdentity?.(this.#identity);
    if (refused) return failure(refused.condition, refused.text);
    let creds: ScramCredentials | undefined;
    let hash: ScramHash = "SHA-256";
    if (user !== undefined) {
      try {
        for (const h of PREFERENCE) {
          creds = await this.#lookup.getScram(user, h);
          if (creds !== undefined) {
            hash = h;
            break;
          }
        }
      } catch {
        return failure("temporary-auth-failure");
      }
    }
    if (creds === undefined) {
      // Spend the same PBKDF2 work as for a real user, then fail like a wrong password.
      const fake = fakeCredentials("SHA-256", user ?? authcid, this.#opts);
      await burnPasswordWork("SHA-256", password, fake.salt, this.#opts.fakeIterations ?? DEFAULT_ITERATIONS["SHA-256"]);
      return failure("not-authorized");
    }
    if (!(await verifyPasswordAsync(creds, hash, password))) return failure("not-authorized");
    if (!(await authzidAllowed(user!, authzid, this.#opts))) {
      return failure("invalid-authzid", "the authenticated user may not act as the requested authorization identity");
    }
    return { kind: "success", username: user! };
  }
}

/** A fresh PLAIN server exchange. */
export function createPlainMechanism(
  lookup: CredentialLookup,
  prepUsername: (u: string) => string,
  opts: SaslMechanismOptions = {},
): SaslMechanism {
  return new PlainServer(lookup, prepUsername, opts);
}
