// The SSRF-guarded feed fetcher against real local HTTP(S) servers.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { gzipSync } from "node:zlib";
import { ensureTlsMaterial } from "../../core/tls/self-signed.ts";
import { addressRefusal } from "./address-policy.ts";
import { FeedFetchError, fetchFeed, type FetchFeedOptions } from "./fetch-feed.ts";
import { parseUrlPrefixes } from "./url-policy.ts";

const ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20250602T090000Z\r\nDTEND:20250602T100000Z\r\nSUMMARY:Hi\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Seen {
  path: string;
  host: string | undefined;
  headers: http.IncomingHttpHeaders;
  servername?: string | false;
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function close(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function expectError(code: FeedFetchError["code"], text?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof FeedFetchError, `expected a FeedFetchError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (text) assert.match(err.message, text);
    return true;
  };
}

describe("fetchFeed", () => {
  const routes = new Map<string, Handler>();
  const seen: Seen[] = [];
  let server: http.Server;
  let port: number;
  let base: string;
  /** Treats 127.0.0.1 as a public address, everything else by the strict policy. */
  const publicLoopback = (a: string) => (a === "127.0.0.1" ? undefined : addressRefusal(a, { allowPrivateNetworks: false }));

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push({ path: req.url ?? "", host: req.headers.host, headers: req.headers });
      const h = routes.get((req.url ?? "").split("?")[0]);
      if (h) h(req, res);
      else {
        res.statusCode = 404;
        res.end("no");
      }
    });
    port = await listen(server);
    base = `http://127.0.0.1:${port}`;
    routes.set("/feed.ics", (_req, res) => {
      res.setHeader("content-type", "text/calendar; charset=utf-8");
      res.end(ICS);
    });
  });
  after(() => close(server));

  const opts = (extra: Partial<FetchFeedOptions> = {}): FetchFeedOptions => ({
    prefixes: parseUrlPrefixes(`${base}/ http://calendar.test:${port}/ http://intranet.test:${port}/`),
    allowPrivateNetworks: true,
    maxBytes: 64 * 1024,
    timeoutMs: 2000,
    ...extra,
  });
  const fresh = () => seen.splice(0);

  test("fetches a calendar from an allowed URL", async () => {
    fresh();
    const r = await fetchFeed(`${base}/feed.ics`, opts());
    assert.equal(r.status, "ok");
    assert.equal(r.status === "ok" && r.body, ICS);
    assert.equal(fresh().length, 1);
  });

  test("refuses loopback unless allowPrivateNetworks, without connecting", async () => {
    fresh();
    await assert.rejects(fetchFeed(`${base}/feed.ics`, opts({ allowPrivateNetworks: false })), expectError("address", /127\.0\.0\.1 is a loopback, private.*calendar\.allowPrivateNetworks/));
    assert.equal(fresh().length, 0, "no request reached the server");
  });

  test("refuses a URL outside the allow list before any DNS or connection", async () => {
    let lookups = 0;
    fresh();
    await assert.rejects(
      fetchFeed(`http://elsewhere.test:${port}/feed.ics`, opts({ resolve: async () => (lookups++, [{ address: "127.0.0.1", family: 4 }]) })),
      expectError("not-allowed", /only accepts calendar feeds under/),
    );
    assert.equal(lookups, 0);
    assert.equal(fresh().length, 0);
  });

  test("resolves once, checks every address, connects to the checked one with the right Host header", async () => {
    fresh();
    const answers = [[{ address: "127.0.0.1", family: 4 }], [{ address: "169.254.169.254", family: 4 }]];
    let lookups = 0;
    // A rebinding resolver: a second lookup would get the metadata address.
    const resolve = async () => answers[Math.min(lookups++, 1)];
    const r = await fetchFeed(`http://calendar.test:${port}/feed.ics`, opts({ resolve, allowPrivateNetworks: false, refuseAddress: publicLoopback }));
    assert.equal(r.status, "ok");
    assert.equal(lookups, 1, "no second DNS lookup between check and connect");
    const [req] = fresh();
    assert.equal(req.host, `calendar.test:${port}`);
  });

  test("refuses a host when any of its addresses is refused", async () => {
    fresh();
    const resolve = async () => [
      { address: "127.0.0.1", family: 4 },
      { address: "10.1.2.3", family: 4 },
    ];
    await assert.rejects(
      fetchFeed(`http://calendar.test:${port}/feed.ics`, opts({ resolve, allowPrivateNetworks: false, refuseAddress: publicLoopback })),
      expectError("address", /calendar\.test resolves to 10\.1\.2\.3, a loopback, private/),
    );
    assert.equal(fresh().length, 0);
  });

  test("reports DNS failures", async () => {
    const resolve = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
    };
    await assert.rejects(fetchFeed(`http://calendar.test:${port}/feed.ics`, opts({ resolve })), expectError("dns", /calendar\.test was not found/));
  });

  test("follows up to 3 redirects, re-checking each; a 4th is refused", async () => {
    routes.set("/r1", (_q, res) => res.writeHead(302, { location: "/r2" }).end());
    routes.set("/r2", (_q, res) => res.writeHead(301, { location: `http://calendar.test:${port}/r3` }).end());
    routes.set("/r3", (_q, res) => res.writeHead(307, { location: `${base}/feed.ics` }).end());
    routes.set("/r0", (_q, res) => res.writeHead(308, { location: "/r1" }).end());
    let lookups = 0;
    const resolve = async () => (lookups++, [{ address: "127.0.0.1", family: 4 }]);
    fresh();
    const r = await fetchFeed(`${base}/r1`, opts({ resolve }));
    assert.equal(r.status, "ok");
    assert.equal(r.url, `${base}/feed.ics`);
    assert.deepEqual(fresh().map((s) => `${s.host} ${s.path}`), [`127.0.0.1:${port} /r1`, `127.0.0.1:${port} /r2`, `calendar.test:${port} /r3`, `127.0.0.1:${port} /feed.ics`]);
    assert.equal(lookups, 1, "the named host was resolved (and checked) on its own hop");
    await assert.rejects(fetchFeed(`${base}/r0`, opts({ resolve })), expectError("redirect", /more than 3 redirects/));
  });

  test("refuses a redirect to a private address, to a disallowed URL and from https to http", async () => {
    routes.set("/to-private", (_q, res) => res.writeHead(302, { location: `http://intranet.test:${port}/feed.ics` }).end());
    routes.set("/to-metadata", (_q, res) => res.writeHead(302, { location: `http://169.254.169.254/latest/meta-data/` }).end());
    routes.set("/to-elsewhere", (_q, res) => res.writeHead(302, { location: "http://example.org/feed.ics" }).end());
    const resolve = async (host: string) => [{ address: host === "intranet.test" ? "192.168.1.10" : "127.0.0.1", family: 4 }];
    const strict = opts({ resolve, allowPrivateNetworks: false, refuseAddress: publicLoopback });
    fresh();
    await assert.rejects(fetchFeed(`${base}/to-private`, strict), expectError("address", /intranet\.test resolves to 192\.168\.1\.10/));
    assert.deepEqual(fresh().map((s) => s.path), ["/to-private"], "the private target was never contacted");
    await assert.rejects(
      fetchFeed(`${base}/to-metadata`, opts({ prefixes: parseUrlPrefixes(`${base}/ http://169.254.169.254/`) })),
      expectError("address", /169\.254\.169\.254 is a reserved, multicast, unspecified or metadata address/),
    );
    await assert.rejects(fetchFeed(`${base}/to-elsewhere`, strict), expectError("redirect", /refused a redirect to http:\/\/example\.org\/feed\.ics: this server only accepts/));
  });

  test("refuses an oversized feed (by Content-Length, while streaming, and after decompression)", async () => {
    const big = "BEGIN:VCALENDAR\r\n" + "X-PAD:" + "x".repeat(200 * 1024) + "\r\nEND:VCALENDAR\r\n";
    routes.set("/big-length", (_q, res) => res.writeHead(200, { "content-type": "text/calendar" }).end(big));
    routes.set("/big-chunked", (_q, res) => {
      res.writeHead(200, { "content-type": "text/calendar", "transfer-encoding": "chunked" });
      for (let i = 0; i < 20; i++) res.write("x".repeat(10 * 1024));
      res.end();
    });
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x41));
    routes.set("/bomb", (_q, res) => res.writeHead(200, { "content-type": "text/calendar", "content-encoding": "gzip", "content-length": bomb.length }).end(bomb));
    const small = opts({ maxBytes: 64 * 1024 });
    await assert.rejects(fetchFeed(`${base}/big-length`, small), expectError("too-large", /larger than 65536 bytes/));
    await assert.rejects(fetchFeed(`${base}/big-chunked`, small), expectError("too-large"));
    assert.ok(bomb.length < 64 * 1024);
    await assert.rejects(fetchFeed(`${base}/bomb`, small), expectError("too-large"));
  });

  test("accepts gzip-compressed feeds within the limit", async () => {
    routes.set("/gz", (_q, res) => res.writeHead(200, { "content-type": "text/calendar", "content-encoding": "gzip" }).end(gzipSync(ICS)));
    const r = await fetchFeed(`${base}/gz`, opts());
    assert.equal(r.status === "ok" && r.body, ICS);
  });

  test("times out a slow feed (one deadline for the whole fetch)", async () => {
    routes.set("/slow", (_q, res) => {
      res.writeHead(200, { "content-type": "text/calendar" });
      res.write("BEGIN:VCALENDAR\r\n");
      const t = setInterval(() => res.write("X-A:b\r\n"), 50);
      res.on("close", () => clearInterval(t));
    });
    routes.set("/silent", () => {});
    const t0 = Date.now();
    await assert.rejects(fetchFeed(`${base}/slow`, opts({ timeoutMs: 400 })), expectError("timeout", /within 0\.4 s/));
    await assert.rejects(fetchFeed(`${base}/silent`, opts({ timeoutMs: 300 })), expectError("timeout"));
    assert.ok(Date.now() - t0 < 3000);
  });

  test("only calendar content: HTML is refused, text/plain and octet-stream only when the body is iCalendar", async () => {
    routes.set("/html", (_q, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>sign in</html>"));
    routes.set("/plain", (_q, res) => res.writeHead(200, { "content-type": "text/plain" }).end("\ufeff" + ICS));
    routes.set("/octet-html", (_q, res) => res.writeHead(200, { "content-type": "application/octet-stream" }).end("<html>sign in</html>"));
    await assert.rejects(fetchFeed(`${base}/html`, opts()), expectError("content-type", /text\/html instead of a calendar/));
    const plain = await fetchFeed(`${base}/plain`, opts());
    assert.equal(plain.status === "ok" && plain.body, ICS, "BOM removed");
    await assert.rejects(fetchFeed(`${base}/octet-html`, opts()), expectError("content-type", /not an iCalendar object/));
  });

  test("HTTP errors are reported with their status", async () => {
    await assert.rejects(fetchFeed(`${base}/missing.ics`, opts()), expectError("http", /^HTTP 404 Not Found$/));
  });

  test("conditional GET: validators are sent and 304 means not modified", async () => {
    routes.set("/cond", (req, res) => {
      if (req.headers["if-none-match"] === '"v1"') return void res.writeHead(304).end();
      res.writeHead(200, { "content-type": "text/calendar", etag: '"v1"', "last-modified": "Mon, 02 Jun 2025 08:00:00 GMT" }).end(ICS);
    });
    fresh();
    const first = await fetchFeed(`${base}/cond`, opts());
    assert.ok(first.status === "ok");
    assert.equal(first.etag, '"v1"');
    assert.equal(first.lastModified, "Mon, 02 Jun 2025 08:00:00 GMT");
    const second = await fetchFeed(`${base}/cond`, opts({ etag: first.etag, lastModified: first.lastModified }));
    assert.equal(second.status, "not-modified");
    const [, req2] = fresh();
    assert.equal(req2.headers["if-none-match"], '"v1"');
    assert.equal(req2.headers["if-modified-since"], "Mon, 02 Jun 2025 08:00:00 GMT");
  });

  test("can be cancelled", async () => {
    const ac = new AbortController();
    const p = fetchFeed(`${base}/silent`, opts({ signal: ac.signal, timeoutMs: 5000 }));
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, expectError("aborted"));
  });
});

describe("fetchFeed over HTTPS", () => {
  let dir: string;
  let server: https.Server;
  let port: number;
  let cert: string;
  const seen: Seen[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "parley-cal-tls-"));
    const tls = await ensureTlsMaterial({ domain: "calendar.test", dataDir: dir, tls: { cert: "", key: "" } });
    cert = tls.cert;
    server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      seen.push({ path: req.url ?? "", host: req.headers.host, headers: req.headers, servername: (req.socket as TLSSocket).servername ?? undefined });
      if (req.url === "/down") return void res.writeHead(302, { location: `http://calendar.test:${port}/feed.ics` }).end();
      res.writeHead(200, { "content-type": "text/calendar" }).end(ICS);
    });
    port = await listen(server);
  });
  after(async () => {
    await close(server);
    rmSync(dir, { recursive: true, force: true });
  });

  const opts = (extra: Partial<FetchFeedOptions> = {}): FetchFeedOptions => ({
    prefixes: parseUrlPrefixes(`https://calendar.test:${port}/ http://calendar.test:${port}/ https://127.0.0.1:${port}/`),
    allowPrivateNetworks: true,
    maxBytes: 64 * 1024,
    timeoutMs: 3000,
    resolve: async () => [{ address: "127.0.0.1", family: 4 }],
    ca: cert,
    ...extra,
  });

  test("connects to the pinned address with the URL's name for SNI and certificate checks", async () => {
    seen.splice(0);
    const r = await fetchFeed(`https://calendar.test:${port}/feed.ics`, opts());
    assert.equal(r.status, "ok");
    assert.equal(seen[0].servername, "calendar.test");
    assert.equal(seen[0].host, `calendar.test:${port}`);
  });

  test("verifies the certificate", async () => {
    await assert.rejects(fetchFeed(`https://calendar.test:${port}/feed.ics`, opts({ ca: undefined })), expectError("tls"));
    // The certificate names calendar.test and localhost, not the IP.
    await assert.rejects(fetchFeed(`https://127.0.0.1:${port}/feed.ics`, opts()), expectError("tls"));
  });

  test("never follows a redirect from https to http", async () => {
    await assert.rejects(fetchFeed(`https://calendar.test:${port}/down`, opts()), expectError("redirect", /from https:\/\/ to http:\/\//));
  });
});
