// Calendar-driven presence input end to end: a real Parley, a tiny HTTP server on 127.0.0.1
// serving an ICS feed, a raw XMPP client setting the feed with urn:parley:calendar:0, and the
// CalendarService / CalendarEvents.changed showing the meeting (also at an exact boundary).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startParley, type TestParley } from "../support/parley.ts";
import { RawClient, stanzaErrorCondition } from "./support/raw-client.ts";
import { CalendarEvents, CalendarServiceToken, type Meeting } from "../../src/modules/calendar/index.ts";

const NS_CAL = "urn:parley:calendar:0";

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

function ics(events: Array<{ start: number; end: number; subject: string; location?: string; extra?: string[] }>): string {
  const lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Parley e2e//EN"];
  events.forEach((e, i) => {
    lines.push("BEGIN:VEVENT", `UID:e2e-${i}@example.com`, "DTSTAMP:20250101T000000Z", `DTSTART:${stamp(e.start)}`, `DTEND:${stamp(e.end)}`, `SUMMARY:${e.subject}`);
    if (e.location) lines.push(`LOCATION:${e.location}`);
    lines.push(...(e.extra ?? []), "END:VEVENT");
  });
  lines.push("END:VCALENDAR", "");
  return lines.join("\r\n");
}

describe("calendar feeds (urn:parley:calendar:0)", () => {
  let feeds: http.Server;
  let base: string;
  const bodies = new Map<string, string>();
  const requests: string[] = [];
  let p: TestParley;
  const changes: Array<{ user: string; meeting: Meeting | undefined; at: number }> = [];

  before(async () => {
    feeds = http.createServer((req, res) => {
      requests.push(req.url ?? "");
      const body = bodies.get(req.url ?? "");
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "text/calendar; charset=utf-8" }).end(body);
    });
    await new Promise<void>((r) => feeds.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(feeds.address() as AddressInfo).port}`;
    p = await startParley({
      users: [
        ["alice", "alicepw"],
        ["bob", "bobpw"],
      ],
      env: {
        PARLEY_CALENDAR_ENABLED: "true",
        PARLEY_CALENDAR_ALLOWED_URL_PREFIXES: `${base}/feeds/`,
        PARLEY_CALENDAR_ALLOW_PRIVATE_NETWORKS: "true",
        PARLEY_CALENDAR_TIMEOUT_SECONDS: "5",
      },
    });
    p.server.host.hooks.on(CalendarEvents.changed, ({ user, meeting }) => void changes.push({ user, meeting, at: Date.now() }));
  });
  after(async () => {
    await p?.stop();
    feeds?.closeAllConnections();
    await new Promise((r) => feeds?.close(r));
  });

  test("a user sets their feed over XMPP and is in the meeting happening now", async () => {
    const now = Date.now();
    bodies.set(
      "/feeds/alice.ics",
      ics([
        { start: now - 10 * 60_000, end: now + 50 * 60_000, subject: "Quarterly planning", location: "Room 4.01" },
        { start: now - 60 * 60_000, end: now + 60 * 60_000, subject: "Maybe", extra: ["STATUS:TENTATIVE"] },
      ]),
    );
    const c = await RawClient.connect(p.port);
    try {
      await c.login("alice", "alicepw", "desk");
      const set = await c.iq(`<iq type='set' id='s1'><feed xmlns='${NS_CAL}' url='${base}/feeds/alice.ics'/></iq>`, "s1", 10_000);
      assert.equal(set.attrs.type, "result", set.toString());
      const feed = set.getChild("feed", NS_CAL)!;
      assert.equal(feed.attrs.url, `${base}/feeds/alice.ics`);
      assert.equal(feed.attrs.status, "ok", "a quick feed is fetched before the answer");
      assert.ok(feed.attrs.fetched);
      const meeting = feed.getChild("meeting")!;
      assert.equal(meeting.getChildText("subject"), "Quarterly planning");
      assert.equal(meeting.getChildText("location"), "Room 4.01");

      const cal = p.server.modules.get(CalendarServiceToken);
      const cur = cal.current("alice@localhost");
      assert.equal(cur?.subject, "Quarterly planning");
      assert.equal(cur?.location, "Room 4.01");
      assert.equal(cur?.end.getTime(), Math.floor((now + 50 * 60_000) / 1000) * 1000);
      assert.ok(changes.some((ch) => ch.user === "alice@localhost" && ch.meeting?.subject === "Quarterly planning"), "changed event fired");

      const get = await c.iq(`<iq type='get' id='g1'><feed xmlns='${NS_CAL}'/></iq>`, "g1");
      assert.equal(get.getChild("feed", NS_CAL)?.attrs.url, `${base}/feeds/alice.ics`);
      assert.equal(get.getChild("feed", NS_CAL)?.getChild("meeting")?.getChildText("subject"), "Quarterly planning");

      const disco = await c.iq(`<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, "d1");
      assert.ok(disco.getChild("query")?.getChildren("feature").some((f) => f.attrs.var === NS_CAL), "feature advertised");

      // Removing the feed ends the meeting at once.
      const rm = await c.iq(`<iq type='set' id='r1'><remove xmlns='${NS_CAL}'/></iq>`, "r1");
      assert.equal(rm.attrs.type, "result");
      assert.equal(cal.current("alice@localhost"), undefined);
      assert.equal(changes.at(-1)?.meeting, undefined);
      const empty = await c.iq(`<iq type='get' id='g2'><feed xmlns='${NS_CAL}'/></iq>`, "g2");
      assert.equal(empty.getChild("feed", NS_CAL)?.attrs.url, undefined);
    } finally {
      await c.close();
    }
  });

  test("a URL outside the allowed prefixes is refused over the IQ, with a clear text", async () => {
    const c = await RawClient.connect(p.port);
    try {
      await c.login("bob", "bobpw", "desk");
      const before = requests.length;
      const cases: Array<[string, string, RegExp]> = [
        ["https://calendar.example.org/bob.ics", "not-allowed", /only accepts calendar feeds under http:\/\/127\.0\.0\.1:\d+\/feeds\//],
        [`${base}/other/bob.ics`, "not-allowed", /only accepts calendar feeds under/],
        [`${base}/feeds/../admin`, "not-allowed", /only accepts/],
        ["http://169.254.169.254/latest/meta-data/", "not-allowed", /only accepts/],
        ["file:///etc/passwd", "bad-request", /http:\/\/ or https:\/\//],
        ["not a url", "bad-request", /not a valid absolute URL/],
      ];
      let n = 0;
      for (const [url, condition, text] of cases) {
        const id = `bad${n++}`;
        const r = await c.iq(`<iq type='set' id='${id}'><feed xmlns='${NS_CAL}' url='${url.replace(/'/g, "&apos;")}'/></iq>`, id);
        assert.equal(r.attrs.type, "error", url);
        assert.equal(stanzaErrorCondition(r), condition, url);
        assert.match(r.getChild("error")?.getChildText("text") ?? "", text, url);
      }
      const noUrl = await c.iq(`<iq type='set' id='nourl'><feed xmlns='${NS_CAL}'/></iq>`, "nourl");
      assert.equal(stanzaErrorCondition(noUrl), "bad-request");
      assert.equal(requests.length, before, "nothing was fetched");
      assert.equal(await p.server.modules.get(CalendarServiceToken).getFeed("bob@localhost"), undefined);
    } finally {
      await c.close();
    }
  });

  test("an administrator sets a feed; the meeting starts and ends on time without waiting for a poll", async () => {
    const cal = p.server.modules.get(CalendarServiceToken);
    // Whole seconds (ICS resolution), starting about 1.5 s from now, lasting 1.5 s or so.
    const start = Math.ceil((Date.now() + 1500) / 1000) * 1000;
    const end = start + 1000;
    bodies.set("/feeds/bob.ics", ics([{ start, end, subject: "Quick sync" }]));
    await assert.rejects(cal.setFeed("nobody@localhost", `${base}/feeds/bob.ics`), /has no account/);
    await assert.rejects(cal.setFeed("bob@localhost", "https://calendar.example.org/bob.ics"), /not-allowed/);
    const mark = changes.length;
    await cal.setFeed("bob@localhost", `${base}/feeds/bob.ics`);
    const info = await cal.refresh("bob@localhost");
    assert.equal(info?.status, "ok");
    assert.equal(cal.current("bob@localhost"), undefined);
    const deadline = end + 3000;
    while (Date.now() < deadline && changes.slice(mark).filter((c) => c.user === "bob@localhost").length < 2) await new Promise((r) => setTimeout(r, 50));
    const bob = changes.slice(mark).filter((c) => c.user === "bob@localhost");
    assert.deepEqual(bob.map((c) => c.meeting?.subject), ["Quick sync", undefined]);
    assert.ok(bob[0].at >= start && bob[0].at < start + 500, `started ${bob[0].at - start} ms after its start`);
    assert.ok(bob[1].at >= end && bob[1].at < end + 500, `ended ${bob[1].at - end} ms after its end`);
    await cal.removeFeed("bob@localhost");
  });

  test("a feed that fails reports why to its owner", async () => {
    const c = await RawClient.connect(p.port);
    try {
      await c.login("alice", "alicepw", "phone");
      bodies.set("/feeds/broken.ics", "<html>Please sign in</html>");
      const r = await c.iq(`<iq type='set' id='b1'><feed xmlns='${NS_CAL}' url='${base}/feeds/broken.ics'/></iq>`, "b1", 10_000);
      const feed = r.getChild("feed", NS_CAL)!;
      assert.equal(feed.attrs.status, "error");
      assert.match(feed.getChildText("error") ?? "", /not a valid iCalendar file/);
      const missing = await c.iq(`<iq type='set' id='b2'><feed xmlns='${NS_CAL}' url='${base}/feeds/missing.ics'/></iq>`, "b2", 10_000);
      assert.equal(missing.getChild("feed", NS_CAL)?.getChildText("error"), "HTTP 404 Not Found");
      await c.iq(`<iq type='set' id='b3'><remove xmlns='${NS_CAL}'/></iq>`, "b3");
    } finally {
      await c.close();
    }
  });
});

test("with calendar.enabled false the IQ is not served and the service refuses", async (t) => {
  const p = await startParley({ users: [["carol", "carolpw"]] });
  t.after(() => p.stop());
  const c = await RawClient.connect(p.port);
  try {
    await c.login("carol", "carolpw", "desk");
    const r = await c.iq(`<iq type='set' id='x1'><feed xmlns='${NS_CAL}' url='https://calendar.example.org/c.ics'/></iq>`, "x1");
    assert.equal(stanzaErrorCondition(r), "service-unavailable");
  } finally {
    await c.close();
  }
  const cal = p.server.modules.get(CalendarServiceToken);
  assert.equal(cal.enabled, false);
  assert.equal(cal.current("carol@localhost"), undefined);
  await assert.rejects(cal.setFeed("carol@localhost", "https://calendar.example.org/c.ics"), /service-unavailable/);
});
