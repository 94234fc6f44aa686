// Browser proof of XMPP over WebSocket: Chromium (Debian's, driven by playwright-core) loads a
// page from a separate loopback origin; the page discovers the endpoint through host-meta
// (XEP-0156, CORS), opens an RFC 7395 stream, authenticates with SCRAM-SHA-256 through
// WebCrypto, binds and chats with a TCP client (@xmpp/client). A screenshot is left in /tmp.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { xml } from "@xmpp/client";
import { chromium } from "playwright-core";
import { startParley } from "../support/parley.ts";
import { xmppjs } from "../interop/support/xmppjs.ts";

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the TCP client's STARTTLS to the self-signed test certificate

const CHROMIUM = process.env.PARLEY_CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOT = "/tmp/parley-websocket-browser.png";
const PAGE = readFileSync(fileURLToPath(new URL("./websocket-page.html", import.meta.url)), "utf8");

// Without a browser the test cannot prove anything: CI installs Debian's chromium and fails
// without it; elsewhere the test is skipped with the reason.
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium)`;
if (missing && process.env.CI) throw new Error(`browser test: ${missing}`);

function serve(html: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/index.html")) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      resolve({ server, origin: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}` });
    }),
  );
}

test("Chromium logs in over WebSocket (host-meta, SCRAM-SHA-256, bind) and chats with a TCP user", { skip: missing, timeout: 120_000 }, async (t) => {
  const p = await startParley({ users: [["alice", "alice-pw"], ["bob", "bob-pw"]] });
  t.after(() => p.stop());
  const page = await serve(PAGE);
  t.after(() => new Promise<void>((r) => page.server.close(() => r())));

  const bob = xmppjs(p.port, "bob", "bob-pw", "desk");
  t.after(() => bob.stop().catch(() => {}));
  const bobGot: string[] = [];
  bob.on("stanza", (s: any) => {
    const body = s.is("message") ? s.getChildText("body") : null;
    if (!body) return;
    bobGot.push(`${body} from ${s.attrs.from}`);
    void bob.send(xml("message", { to: s.attrs.from, type: "chat" }, xml("body", {}, "hello back from bob over TCP")));
  });
  await bob.start();
  await bob.send(xml("presence")); // available: messages to bob's bare JID reach this resource

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  t.after(() => browser.close());
  const tab = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const consoleLines: string[] = [];
  tab.on("console", (m) => consoleLines.push(m.text()));
  const q = new URLSearchParams({
    http: `http://127.0.0.1:${p.server.ports.http}`,
    domain: p.domain,
    user: "alice",
    password: "alice-pw",
    peer: "bob@localhost",
  });
  await tab.goto(`${page.origin}/index.html?${q}`);
  let result: { ok: boolean; text: string };
  try {
    await tab.waitForFunction(() => (window as any).__result !== undefined, undefined, { timeout: 30_000 });
    result = (await tab.evaluate(() => (window as any).__result)) as { ok: boolean; text: string };
  } finally {
    // Also on failure: the page's frame log shows how far it got.
    await tab.screenshot({ path: SCREENSHOT, fullPage: true });
  }
  assert.ok(result.ok, `${result.text}\nconsole:\n${consoleLines.join("\n")}`);
  assert.equal(result.text, 'success: alice@localhost/chromium got "hello back from bob over TCP" from bob@localhost/desk');
  assert.deepEqual(bobGot, ["hello from Chromium from alice@localhost/chromium"]);

  const metrics = await (await fetch(`http://127.0.0.1:${p.server.ports.http}/metrics`)).text();
  assert.match(metrics, /^parley_auth_successes_total\{mechanism="SCRAM-SHA-256"\} 1$/m);
});
