import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger, silentLogger } from "./logger.ts";

function capture(): { lines: Array<Record<string, unknown>>; write: (s: string) => void } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) };
}

test("JSON lines with level names, ISO time, pid and hostname; below-level lines dropped", () => {
  const out = capture();
  const log = createLogger("info", { destination: out, base: { node: "n1" } });
  log.debug("hidden");
  log.info({ user: "alice" }, "signed in");
  log.child({ module: "roster" }).warn("slow");
  assert.equal(out.lines.length, 2);
  const [a, b] = out.lines;
  assert.equal(a.level, "info");
  assert.equal(a.msg, "signed in");
  assert.equal(a.user, "alice");
  assert.equal(a.node, "n1");
  assert.equal(a.pid, process.pid);
  assert.equal(typeof a.hostname, "string");
  assert.match(String(a.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(b.level, "warn");
  assert.equal(b.module, "roster");
});

test("level can be changed at run time; silent logs nothing", () => {
  const out = capture();
  const log = createLogger("warn", { destination: out });
  log.info("no");
  log.level = "debug";
  log.debug("yes");
  assert.deepEqual(out.lines.map((l) => l.msg), ["yes"]);
  silentLogger().fatal("nothing");
});
