// Starts a real Parley server in-process for end-to-end tests: its own temp data dir, ephemeral
// loopback ports, optional PostgreSQL database, users provisioned through the account service.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/core/config/config.ts";
import { createServer, type ParleyServer } from "../../src/server.ts";
import { createLogger } from "../../src/core/log/logger.ts";
import { createPostgresTestDatabase, type PostgresTestDatabase } from "./databases.ts";

export interface TestParley {
  server: ParleyServer;
  domain: string;
  host: string;
  port: number;
  tlsPort: number;
  dataDir: string;
  /** Creates accounts; returns their bare JIDs. */
  addUsers(users: Array<[string, string]>): Promise<string[]>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra PARLEY_* variables (e.g. { PARLEY_C2S_REQUIRE_TLS: "false", PARLEY_LIMITS_MAX_STANZA_BYTES: "4096" }). */
  env?: Record<string, string>;
  /** "postgres" creates and later drops a database of its own. */
  database?: "sqlite" | "postgres";
  users?: Array<[string, string]>;
}

export async function startParley(opts: StartOptions = {}): Promise<TestParley> {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-test-"));
  let pg: PostgresTestDatabase | undefined;
  if (opts.database === "postgres") pg = await createPostgresTestDatabase();
  const env: Record<string, string> = {
    PARLEY_DATA_DIR: dataDir,
    PARLEY_DOMAIN: "localhost",
    PARLEY_C2S_HOST: "127.0.0.1",
    PARLEY_C2S_PORT: "0",
    PARLEY_C2S_TLS_PORT: "0",
    PARLEY_HTTP_HOST: "127.0.0.1",
    PARLEY_HTTP_PORT: "0",
    PARLEY_HTTP_TLS_PORT: "0",
    PARLEY_LOG_LEVEL: process.env.PARLEY_TEST_LOG_LEVEL ?? "warn",
    ...(pg ? { PARLEY_DATABASE_URL: pg.url } : {}),
    ...opts.env,
  };
  // The test's own environment must not leak into the server's config.
  const config = loadConfig({ env, cwd: dataDir });
  const server = await createServer(config, { log: createLogger(config.log.level) });
  await server.listen();
  const t: TestParley = {
    server,
    domain: config.domain,
    host: "127.0.0.1",
    port: server.ports.c2s!,
    tlsPort: server.ports.c2sTls!,
    dataDir,
    async addUsers(users) {
      const out: string[] = [];
      for (const [u, pw] of users) {
        await server.accounts.create(u, pw);
        out.push(`${u}@${config.domain}`);
      }
      return out;
    },
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
      if (pg) await pg.drop();
    },
  };
  if (opts.users) await t.addUsers(opts.users);
  return t;
}
