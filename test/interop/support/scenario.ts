// Runs a slixmpp scenario script (Python, see interop.py) against a server and fails the
// test with the script's event log when it does not finish cleanly.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describeRun, runSlixmpp, type SlixmppResult } from "../../support/slixmpp.ts";
import type { TestParley } from "../../support/parley.ts";

export const INTEROP_SUPPORT = fileURLToPath(new URL(".", import.meta.url));

/** Where a scenario connects: a Parley, a Prosody, anything with c2s ports. */
export interface Target {
  host: string;
  port: number;
  tlsPort: number;
  domain: string;
}

export function parleyTarget(p: TestParley): Target {
  return { host: p.host, port: p.port, tlsPort: p.tlsPort, domain: p.domain };
}

let counter = 0;
/** A short unique prefix for the accounts of one test ("t3x"). */
export function uniquePrefix(): string {
  return `t${(++counter).toString(36)}${process.pid.toString(36).slice(-2)}x`;
}

/**
 * Runs `script` with args {host, port, tls_port, domain, prefix, ...extra}; asserts exit 0.
 * The script is killed after timeoutMs (default 25 s); its own run() time-out is 5 s less.
 */
export async function scenario(
  target: Target,
  script: string,
  extra: Record<string, string | number | boolean> = {},
  opts: { timeoutMs?: number; log?: string } = {},
): Promise<SlixmppResult> {
  const timeoutMs = opts.timeoutMs ?? 25_000;
  const r = await runSlixmpp(
    script,
    {
      host: target.host,
      port: target.port,
      tls_port: target.tlsPort,
      domain: target.domain,
      timeout: Math.max(1, timeoutMs / 1000 - 5),
      ...(opts.log ? { log: opts.log } : {}),
      ...extra,
    },
    { timeoutMs, env: { PYTHONPATH: INTEROP_SUPPORT } },
  );
  assert.ok(r.code === 0 && !r.timedOut, describeRun(r));
  return r;
}

/** Creates prefix+name accounts with password name+"pw" on a Parley. */
export async function addPrefixedUsers(p: TestParley, prefix: string, names: string[]): Promise<void> {
  await p.addUsers(names.map((n) => [prefix + n, n + "pw"]));
}

/** Fresh accounts for one test on a shared server: prefix+name (password name+"pw"); returns the prefix. */
export async function newUsers(p: TestParley, ...names: string[]): Promise<string> {
  const prefix = uniquePrefix();
  await addPrefixedUsers(p, prefix, names);
  return prefix;
}
