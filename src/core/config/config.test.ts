import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, configPathFromArgv, envName, loadConfig } from "./config.ts";
import type { ParleyConfig } from "./config.ts";
import { leaves } from "./schema.ts";
import { closest, editDistance } from "./validate.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "parley-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Loads expecting failure; returns the ConfigError. */
function loadError(opts: Parameters<typeof loadConfig>[0]): ConfigError {
  try {
    loadConfig(opts);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected loadConfig to throw");
}

/** Writes parley.yaml in a fresh temp dir and loads it (expecting failure). */
function yamlError(t: Parameters<typeof tempDir>[0], yaml: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  const dir = tempDir(t);
  writeFileSync(join(dir, "parley.yaml"), yaml);
  return loadError({ cwd: dir, env });
}

test("no file: every default, fully resolved", (t) => {
  const dir = tempDir(t);
  const c = loadConfig({ cwd: dir, env: {} });
  assert.equal(c.configFile, null);
  assert.equal(c.domain, "localhost");
  assert.equal(c.dataDir, join(dir, "data"));
  assert.deepEqual(c.database, { kind: "sqlite", url: `sqlite:${join(dir, "data", "parley.sqlite")}`, file: join(dir, "data", "parley.sqlite") });
  assert.deepEqual(c.c2s, { enabled: true, host: "0.0.0.0", port: 5222, tlsPort: 5223, requireTls: true });
  assert.deepEqual(c.http, {
    enabled: true,
    host: "0.0.0.0",
    port: 5280,
    tlsPort: 5281,
    websocketUrl: "",
    websocketTrustedInsecure: "loopback",
    metricsAllow: "loopback,private",
  });
  assert.deepEqual(c.tls, { cert: "", key: "" });
  assert.deepEqual(c.limits, {
    maxStanzaBytes: 262144,
    maxDepth: 64,
    idleTimeoutSeconds: 600,
    pingIntervalSeconds: 240,
    pingTimeoutSeconds: 60,
    offlineQuota: 1000,
    authFailuresPerAccount: 10,
    authFailuresPerAddress: 30,
    authFailureWindowSeconds: 300,
    c2sBytesPerSecond: 102400,
    c2sBurstBytes: 1048576,
    maxConnectionsPerAddress: 100,
    exemptAddresses: "loopback",
  });
  assert.deepEqual(c.vcard, { maxBytes: 196608 });
  assert.deepEqual(c.version, { showOs: false });
  assert.deepEqual(c.registration, { enabled: false, maxPerAddressPerHour: 5, allowAccountChanges: true });
  assert.equal(c.log.level, "info");
  assert.equal(c.admin.socket, join(dir, "data", "admin.sock"));
});

test("the result is deeply frozen", (t) => {
  const c = loadConfig({ cwd: tempDir(t), env: {} });
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.c2s) && Object.isFrozen(c.database));
  assert.throws(() => {
    (c.c2s as { port: number }).port = 1;
  }, TypeError);
});

test("./parley.yaml is read by default; values are normalised and paths resolved", (t) => {
  const dir = tempDir(t);
  writeFileSync(
    join(dir, "parley.yaml"),
    [
      "domain: Chat.Example.COM",
      "dataDir: var/parley",
      "c2s:",
      "  port: 0",
      "  requireTls: false",
      "tls:",
      "  cert: certs/c.pem",
      "  key: /etc/k.pem",
      "log:",
      "  level: DEBUG",
      "admin:",
      "  socket: run/a.sock",
      "limits:",
      "  offlineQuota: 0",
      "http:", // an empty section means defaults
      "",
    ].join("\n"),
  );
  const c = loadConfig({ cwd: dir, env: {} });
  assert.equal(c.configFile, join(dir, "parley.yaml"));
  assert.equal(c.domain, "chat.example.com");
  assert.equal(c.dataDir, join(dir, "var/parley"));
  assert.equal(c.database.url, `sqlite:${join(dir, "var/parley/parley.sqlite")}`);
  assert.equal(c.c2s.port, 0);
  assert.equal(c.c2s.requireTls, false);
  assert.deepEqual(c.tls, { cert: join(dir, "certs/c.pem"), key: "/etc/k.pem" });
  assert.equal(c.log.level, "debug");
  assert.equal(c.admin.socket, join(dir, "run/a.sock"));
  assert.equal(c.limits.offlineQuota, 0);
  assert.equal(c.http.port, 5280);
});

test("an empty file or one with only comments means all defaults", (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "parley.yaml"), "# nothing yet\n");
  assert.equal(loadConfig({ cwd: dir, env: {} }).domain, "localhost");
  writeFileSync(join(dir, "parley.yaml"), "");
  assert.equal(loadConfig({ cwd: dir, env: {} }).c2s.port, 5222);
});

test("--config wins over PARLEY_CONFIG, which wins over ./parley.yaml", (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "parley.yaml"), "domain: default.example\n");
  writeFileSync(join(dir, "env.yaml"), "domain: env.example\n");
  writeFileSync(join(dir, "argv.yaml"), "domain: argv.example\n");
  assert.equal(loadConfig({ cwd: dir, env: {} }).domain, "default.example");
  assert.equal(loadConfig({ cwd: dir, env: { PARLEY_CONFIG: "env.yaml" } }).domain, "env.example");
  const c = loadConfig({ cwd: dir, env: { PARLEY_CONFIG: "env.yaml" }, argvConfigPath: "argv.yaml" });
  assert.equal(c.domain, "argv.example");
  assert.equal(c.configFile, join(dir, "argv.yaml"));
});

test("an explicitly named file that does not exist is an error naming it", (t) => {
  const dir = tempDir(t);
  let e = loadError({ cwd: dir, env: {}, argvConfigPath: "nope.yaml" });
  assert.match(e.message, /nope\.yaml: cannot read the configuration file given by --config: no such file/);
  e = loadError({ cwd: dir, env: { PARLEY_CONFIG: join(dir, "missing.yaml") } });
  assert.match(e.message, /missing\.yaml: cannot read the configuration file given by PARLEY_CONFIG: no such file/);
  mkdirSync(join(dir, "adir"));
  e = loadError({ cwd: dir, env: {}, argvConfigPath: "adir" });
  assert.match(e.message, /it is a directory/);
});

test("environment overrides win over the file, typed per key", (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "parley.yaml"), "domain: file.example\nc2s:\n  port: 6222\n  requireTls: true\nlog:\n  level: warn\n");
  const c = loadConfig({
    cwd: dir,
    env: {
      PARLEY_DOMAIN: "ENV.example",
      PARLEY_C2S_PORT: "7222",
      PARLEY_C2S_REQUIRE_TLS: "false",
      PARLEY_HTTP_HOST: "127.0.0.1",
      PARLEY_DATA_DIR: "/srv/parley",
      PARLEY_DATABASE_URL: "postgres://parley@127.0.0.1:5432/parley",
      PARLEY_LIMITS_MAX_STANZA_BYTES: "65536",
      PARLEY_LOG_LEVEL: "", // empty counts as unset
      HOME: "/root", // unrelated variables are ignored
      PARLEY_TEST_SOMETHING_ELSE: "x", // far from every key: not ours, ignored
    },
  });
  assert.equal(c.domain, "env.example");
  assert.equal(c.c2s.port, 7222);
  assert.equal(c.c2s.requireTls, false);
  assert.equal(c.http.host, "127.0.0.1");
  assert.equal(c.dataDir, "/srv/parley");
  assert.deepEqual(c.database, { kind: "postgres", url: "postgres://parley@127.0.0.1:5432/parley" });
  assert.equal(c.limits.maxStanzaBytes, 65536);
  assert.equal(c.log.level, "warn");
  assert.equal(c.admin.socket, "/srv/parley/admin.sock");
});

test("database urls: sqlite paths are resolved, :memory: kept, other schemes refused", (t) => {
  const dir = tempDir(t);
  const db = (url: string): ParleyConfig["database"] => loadConfig({ cwd: dir, env: { PARLEY_DATABASE_URL: url } }).database;
  assert.deepEqual(db("sqlite:db/x.sqlite"), { kind: "sqlite", url: `sqlite:${join(dir, "db/x.sqlite")}`, file: join(dir, "db/x.sqlite") });
  assert.deepEqual(db("sqlite::memory:"), { kind: "sqlite", url: "sqlite::memory:", file: ":memory:" });
  assert.equal(db("postgresql://u:p@db.internal/parley").kind, "postgres");
  const e = loadError({ cwd: dir, env: { PARLEY_DATABASE_URL: "mysql://u@h/db" } });
  assert.match(e.message, /environment PARLEY_DATABASE_URL: database\.url: "mysql:\/\/u@h\/db" is not valid; expected .*sqlite:<path> or postgres:\/\//);
});

test("unknown keys are errors with a did-you-mean suggestion and a line number", (t) => {
  const e = yamlError(t, "domian: example.com\nc2s:\n  prot: 5222\nlimits:\n  max_stanza_bytes: 1\nport: 1\nfoo: 1\n");
  assert.equal(e.problems.length, 5);
  assert.match(e.message, /parley\.yaml:1:1: domian: unknown key; did you mean "domain"\?/);
  assert.match(e.message, /parley\.yaml:3:3: c2s\.prot: unknown key; did you mean "c2s\.port"\?/);
  assert.match(e.message, /parley\.yaml:5:3: limits\.max_stanza_bytes: unknown key; did you mean "limits\.maxStanzaBytes"\?/);
  // a key that exists only in a section: point there
  assert.match(e.message, /parley\.yaml:6:1: port: unknown key; did you mean "c2s\.port" or "http\.port"\?/);
  // nothing close: list what is allowed
  assert.match(e.message, /foo: unknown key; expected one of domain, dataDir, database, c2s/);
});

test("wrong types name the key, the value and what is expected", (t) => {
  const e = yamlError(
    t,
    ["domain: 42", "c2s:", '  port: "5222"', "  requireTls: yes", "http:", "  port: 52.8", "tls:", "  cert:", "  key:", ""].join("\n"),
  );
  const m = e.message;
  assert.match(m, /domain: 42 is not a string; expected a string \(quote it: "42"\)/);
  assert.match(m, /c2s\.port: "5222" is not an integer; expected an integer from 0 to 65535 \(remove the quotes\)/);
  assert.match(m, /c2s\.requireTls: "yes" is not a boolean; expected true or false \(YAML 1\.2: write true or false\)/);
  assert.match(m, /http\.port: 52\.8 is not an integer/);
  assert.match(m, /tls\.cert: has no value; expected a string \(remove the key to use the default ""\)/);
});

test("sections and the document must be mappings", (t) => {
  let e = yamlError(t, "c2s: 5222\n");
  assert.match(e.message, /parley\.yaml:1:6: c2s: 5222 is not a mapping; expected a section with keys enabled, host, port, tlsPort, requireTls/);
  e = yamlError(t, "- a\n- b\n");
  assert.match(e.message, /a list is not a mapping; expected a mapping of settings/);
});

test("ranges: ports 0..65535 and limits", (t) => {
  const e = yamlError(t, "c2s:\n  port: 70000\n  tlsPort: -1\nlimits:\n  maxStanzaBytes: 100\n  maxDepth: 0\n");
  assert.equal(e.problems.length, 4);
  assert.match(e.message, /parley\.yaml:2:9: c2s\.port: 70000 is out of range; expected an integer from 0 to 65535/);
  assert.match(e.message, /c2s\.tlsPort: -1 is out of range/);
  assert.match(e.message, /limits\.maxStanzaBytes: 100 is out of range; expected an integer from 10000 to 16777216/);
  assert.match(e.message, /limits\.maxDepth: 0 is out of range; expected an integer from 4 to 1024/);
});

test("domain must be a hostname; listen hosts an IP or hostname", (t) => {
  for (const bad of ["exa mple.com", "-bad.example", "a..b", "user@example.com", "ex_ample.com", "x".repeat(64) + ".com"]) {
    const e = loadError({ cwd: tempDir(t), env: { PARLEY_DOMAIN: bad } });
    assert.match(e.message, /environment PARLEY_DOMAIN: domain: .* is not valid; expected a hostname such as example\.com/, bad);
  }
  for (const good of ["example.com", "localhost", "xn--bcher-kva.example", "127.0.0.1"]) {
    assert.equal(loadConfig({ cwd: tempDir(t), env: { PARLEY_DOMAIN: good } }).domain, good);
  }
  const c = loadConfig({ cwd: tempDir(t), env: { PARLEY_C2S_HOST: "::1", PARLEY_HTTP_HOST: "localhost" } });
  assert.equal(c.c2s.host, "::1");
  const e = loadError({ cwd: tempDir(t), env: { PARLEY_C2S_HOST: "256.1.1.1:80" } });
  assert.match(e.message, /c2s\.host: "256\.1\.1\.1:80" is not valid; expected an IP address/);
});

test("log level: one of the pino levels, with a suggestion", (t) => {
  const e = loadError({ cwd: tempDir(t), env: { PARLEY_LOG_LEVEL: "wran" } });
  assert.match(e.message, /log\.level: "wran" is not allowed; expected one of fatal, error, warn, info, debug, trace, silent \(did you mean "warn"\?\)/);
});

test("environment values that do not parse are errors naming the variable", (t) => {
  const e = loadError({
    cwd: tempDir(t),
    env: { PARLEY_C2S_PORT: "52x", PARLEY_C2S_REQUIRE_TLS: "yes", PARLEY_HTTP_PORT: "99999", PARLEY_LOG_LEVLE: "debug" },
  });
  assert.equal(e.problems.length, 4);
  assert.match(e.message, /environment PARLEY_C2S_PORT: c2s\.port: "52x" is not an integer; expected an integer from 0 to 65535/);
  assert.match(e.message, /environment PARLEY_C2S_REQUIRE_TLS: c2s\.requireTls: "yes" is not a boolean; expected "true" or "false"/);
  assert.match(e.message, /environment PARLEY_HTTP_PORT: http\.port: "99999" is out of range/);
  assert.match(e.message, /environment PARLEY_LOG_LEVLE: unknown variable; did you mean PARLEY_LOG_LEVEL\?/);
});

test("tls.cert and tls.key go together", (t) => {
  const e = yamlError(t, "tls:\n  cert: my.pem\n");
  assert.match(e.message, /parley\.yaml: tls: tls\.cert is set but tls\.key is empty; expected both .* or neither/);
});

test("listeners may not share a port; 0 (ephemeral) never clashes", (t) => {
  let e = loadError({ cwd: tempDir(t), env: { PARLEY_HTTP_PORT: "5222" } });
  assert.match(e.message, /environment PARLEY_HTTP_PORT: http\.port: 5222 is also used by c2s\.port; expected a different port/);
  // different specific addresses may share a port
  loadConfig({ cwd: tempDir(t), env: { PARLEY_HTTP_PORT: "5222", PARLEY_C2S_HOST: "127.0.0.1", PARLEY_HTTP_HOST: "127.0.0.2" } });
  // a disabled listener does not count
  loadConfig({ cwd: tempDir(t), env: { PARLEY_HTTP_PORT: "5222", PARLEY_C2S_ENABLED: "false" } });
  loadConfig({ cwd: tempDir(t), env: { PARLEY_HTTP_PORT: "0", PARLEY_C2S_PORT: "0", PARLEY_C2S_TLS_PORT: "0" } });
});

test("admin socket paths longer than a Unix socket allows are refused", (t) => {
  const e = loadError({ cwd: tempDir(t), env: { PARLEY_DATA_DIR: "/" + "d".repeat(120) } });
  assert.match(e.message, /admin\.socket: ".*admin\.sock" is 13\d bytes long; expected a Unix socket path of at most 107 bytes/);
});

test("YAML syntax errors carry a line and column", (t) => {
  let e = yamlError(t, "domain: a\ndomain: b\n");
  assert.match(e.message, /parley\.yaml:2:1: YAML syntax error: Map keys must be unique/);
  e = yamlError(t, "c2s:\n  port: [5222\n");
  assert.match(e.message, /parley\.yaml:\d+:\d+: YAML syntax error: /);
});

test("all problems are reported at once, file before environment", (t) => {
  const e = yamlError(t, "domian: x\nc2s:\n  port: 1e9\n", { PARLEY_LOG_LEVEL: "loud" });
  assert.equal(e.problems.length, 3);
  assert.match(e.message, /^Invalid configuration \(3 problems\):\n {2}- parley\.yaml:1:1: domian/);
  assert.equal(e.name, "ConfigError");
});

test("configPathFromArgv", () => {
  assert.equal(configPathFromArgv(["start", "--config", "a.yaml"]), "a.yaml");
  assert.equal(configPathFromArgv(["--config=b.yaml", "start"]), "b.yaml");
  assert.equal(configPathFromArgv(["-c", "c.yaml"]), "c.yaml");
  assert.equal(configPathFromArgv(["start", "--", "--config", "x"]), undefined);
  assert.equal(configPathFromArgv([]), undefined);
});

test("envName and did-you-mean helpers", () => {
  assert.equal(envName(["c2s", "tlsPort"]), "PARLEY_C2S_TLS_PORT");
  assert.equal(envName(["limits", "maxStanzaBytes"]), "PARLEY_LIMITS_MAX_STANZA_BYTES");
  assert.equal(envName(["dataDir"]), "PARLEY_DATA_DIR");
  assert.equal(editDistance("prot", "port"), 1);
  assert.equal(closest("requireTLS", ["requireTls", "host"]), "requireTls");
  assert.equal(closest("zzz", ["requireTls", "host"]), undefined);
});

test("parley.example.yaml documents every key and loads to the defaults", (t) => {
  const example = join(repoRoot, "parley.example.yaml");
  const text = readFileSync(example, "utf8");
  const dir = tempDir(t);
  const fromExample = loadConfig({ cwd: dir, env: {}, argvConfigPath: example });
  const defaults = loadConfig({ cwd: dir, env: {} });
  assert.deepEqual({ ...fromExample, configFile: null }, defaults);
  for (const [path] of leaves()) {
    assert.ok(text.includes(`${path[path.length - 1]}:`), `parley.example.yaml lacks ${path.join(".")}`);
    assert.ok(text.includes(envName(path)), `parley.example.yaml lacks ${envName(path)}`);
  }
});

test("docs/configuration.md names every key and variable", () => {
  const text = readFileSync(join(repoRoot, "docs", "configuration.md"), "utf8");
  for (const [path] of leaves()) {
    assert.ok(text.includes("`" + path.join(".") + "`"), `docs/configuration.md lacks \`${path.join(".")}\``);
    assert.ok(text.includes(envName(path)), `docs/configuration.md lacks ${envName(path)}`);
  }
});
