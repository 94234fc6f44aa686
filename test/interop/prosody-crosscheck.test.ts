// The same slixmpp scenarios against a private Prosody (Debian's package): proof that the tests
// encode RFC behaviour rather than Parley's reading of it. When Prosody is not installed the
// tests are skipped with a reason (the Parley runs in the other files still cover the scenarios).
import { after, before, describe, test } from "node:test";
import { prosodyAvailable, startProsody, type ProsodyInstance } from "../support/prosody.ts";
import { scenario, type Target } from "./support/scenario.ts";
import { SCENARIOS } from "./support/scenarios.ts";

const available = prosodyAvailable();
const PREFIXES = ["ra", "rb", "sh", "so", "pr", "of"];

describe("cross-check against Prosody", { concurrency: true, skip: available ? false : "prosody is not installed" }, () => {
  let prosody: ProsodyInstance;
  let target: Target;
  before(async () => {
    const users = PREFIXES.flatMap((prefix) => ["alice", "bob", "carol"].map((n) => ({ user: prefix + n, password: n + "pw" })));
    prosody = await startProsody({ users });
    target = { host: prosody.host, port: prosody.c2sPort, tlsPort: prosody.directTlsPort, domain: prosody.domain };
  });
  after(() => prosody?.stop());

  const cases: Array<[string, keyof typeof SCENARIOS, string, Record<string, number>?]> = [
    ["roster basics", "rosterBasics", "ra"],
    ["roster versioning", "rosterVersioning", "rb"],
    ["subscription handshake", "subscriptionHandshake", "sh"],
    ["subscription request to an offline user", "subscribeOffline", "so"],
    ["bare-JID routing by priority", "bareJidPriorities", "pr"],
    ["offline storage order and delay stamps", "offlineOrder", "of", { count: 20 }],
  ];
  for (const [name, key, prefix, extra] of cases) {
    test(`Prosody: ${name}`, async () => {
      await scenario(target, SCENARIOS[key], { prefix, ...(extra ?? {}) });
    });
  }
});
