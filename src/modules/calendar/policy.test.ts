import { test } from "node:test";
import assert from "node:assert/strict";
import { addressRefusal, embeddedIPv4 } from "./address-policy.ts";
import { checkFeedUrl, checkUrlPrefixList, parseUrlPrefixes } from "./url-policy.ts";

const strict = { allowPrivateNetworks: false };
const lax = { allowPrivateNetworks: true };

test("private, loopback, link-local, CGNAT and unique-local addresses are refused unless allowed", () => {
  const ranges: Record<string, string[]> = {
    "loopback v4": ["127.0.0.1", "127.255.255.254"],
    "RFC 1918": ["10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.0.1", "192.168.255.255"],
    "link-local v4": ["169.254.0.1", "169.254.10.20"],
    CGNAT: ["100.64.0.1", "100.127.255.255"],
    "IETF protocol assignments": ["192.0.0.8"],
    "loopback v6": ["::1"],
    "unique-local v6": ["fc00::1", "fd12:3456:789a::1"],
    "link-local v6": ["fe80::1", "fe80::1%eth0"],
    "site-local v6": ["fec0::1"],
    "IPv4-mapped private": ["::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:7f00:1", "::ffff:192.168.1.1"],
    "IPv4-compatible private": ["::127.0.0.1", "::a01:203"],
    "NAT64 of private": ["64:ff9b::10.0.0.1", "64:ff9b::a9fe:1"],
    "6to4 of private": ["2002:0a00:0001::1", "2002:7f00:1::"],
  };
  for (const [name, addrs] of Object.entries(ranges)) {
    for (const a of addrs) {
      const why = addressRefusal(a, strict);
      assert.ok(why !== undefined, `${name}: ${a} must be refused`);
      assert.match(why, /not allowed/, a);
      assert.equal(addressRefusal(a, lax), undefined, `${name}: ${a} allowed with allowPrivateNetworks`);
    }
  }
});

test("unspecified, multicast, reserved, documentation and metadata addresses are always refused", () => {
  const always = [
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.2.10",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "169.254.169.254",
    "100.100.100.200",
    "::",
    "ff02::1",
    "ff05::fb",
    "2001:db8::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
    "fd00:ec2::254",
    "::ffff:169.254.169.254",
    "::ffff:0.0.0.0",
    "64:ff9b::e000:1",
  ];
  for (const a of always) {
    assert.ok(addressRefusal(a, strict) !== undefined, `${a} refused`);
    assert.ok(addressRefusal(a, lax) !== undefined, `${a} refused even with allowPrivateNetworks`);
  }
  assert.ok(addressRefusal("not-an-ip", lax) !== undefined);
});

test("public unicast addresses are allowed", () => {
  for (const a of ["8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.1", "172.15.255.255", "172.32.0.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:0808:0808::1"]) {
    assert.equal(addressRefusal(a, strict), undefined, a);
  }
});

test("embedded IPv4 addresses are found in every IPv6 form that carries one", () => {
  assert.equal(embeddedIPv4("::ffff:10.0.0.1"), "10.0.0.1");
  assert.equal(embeddedIPv4("::ffff:a00:1"), "10.0.0.1");
  assert.equal(embeddedIPv4("::10.0.0.1"), "10.0.0.1");
  assert.equal(embeddedIPv4("64:ff9b::1.2.3.4"), "1.2.3.4");
  assert.equal(embeddedIPv4("2002:c0a8:0101::"), "192.168.1.1");
  assert.equal(embeddedIPv4("::1"), undefined);
  assert.equal(embeddedIPv4("::"), undefined);
  assert.equal(embeddedIPv4("2001:db8::1"), undefined);
});

test("URL prefixes: scheme, host and port must match; the path must start with the prefix's", () => {
  const prefixes = parseUrlPrefixes("https://cal.example.com/feeds/, http://127.0.0.1:8080  https://outlook.example.net");
  const ok = (u: string) => checkFeedUrl(u, prefixes).ok;
  assert.ok(ok("https://cal.example.com/feeds/alice.ics"));
  assert.ok(ok("https://CAL.example.com:443/feeds/alice.ics?token=x"));
  assert.ok(ok("http://127.0.0.1:8080/anything"));
  assert.ok(ok("https://outlook.example.net/owa/calendar/x/calendar.ics"));
  assert.ok(!ok("http://cal.example.com/feeds/alice.ics"), "scheme");
  assert.ok(!ok("https://cal.example.com:8443/feeds/alice.ics"), "port");
  assert.ok(!ok("https://cal.example.com/feedsx/alice.ics"), "path");
  assert.ok(!ok("https://cal.example.com/feeds/../admin"), "dot segments");
  assert.ok(!ok("https://cal.example.com/feeds/%2e%2e/admin"), "encoded dot segments");
  assert.ok(!ok("https://cal.example.com.evil.net/feeds/a.ics"), "host suffix");
  assert.ok(!ok("http://127.0.0.1:80800/"), "port prefix");
  assert.ok(!ok("http://127.0.0.1/"), "default port");
  assert.ok(!ok("https://evil.net/https://cal.example.com/feeds/"), "prefix inside the path");
});

test("feed URL form: clear reasons for what is refused", () => {
  const prefixes = parseUrlPrefixes("https://cal.example.com/");
  const r = (u: string) => {
    const c = checkFeedUrl(u, prefixes);
    return c.ok ? "ok" : `${c.reason}: ${c.text}`;
  };
  assert.match(r("not a url"), /^bad-url: .*not a valid absolute URL/);
  assert.match(r("ftp://cal.example.com/a.ics"), /^bad-url: .*http:\/\/ or https:\/\//);
  assert.match(r("webcal://cal.example.com/a.ics"), /^bad-url: write http:\/\//);
  assert.match(r("https://user:pw@cal.example.com/a.ics"), /^bad-url: .*user name or password/);
  assert.match(r("https://cal.example.com/" + "a".repeat(3000)), /^bad-url: .*longer than/);
  assert.match(r("https://other.example.com/a.ics"), /^not-allowed: this server only accepts calendar feeds under https:\/\/cal\.example\.com\//);
  assert.match(checkFeedUrl("https://cal.example.com/a.ics", []).ok ? "" : (checkFeedUrl("https://cal.example.com/a.ics", []) as { text: string }).text, /not allowed from any address/);
  const fragment = checkFeedUrl("https://cal.example.com/a.ics#x", prefixes);
  assert.ok(fragment.ok && fragment.url.href === "https://cal.example.com/a.ics", "the fragment is dropped");
});

test("prefix lists are validated", () => {
  assert.equal(checkUrlPrefixList(""), undefined);
  assert.equal(checkUrlPrefixList(" https://a.example/ ,http://b.example:81/x "), undefined);
  assert.match(checkUrlPrefixList("cal.example.com") ?? "", /not a URL/);
  assert.match(checkUrlPrefixList("ftp://a.example/") ?? "", /http/);
  assert.match(checkUrlPrefixList("https://u:p@a.example/") ?? "", /password/);
  assert.throws(() => parseUrlPrefixes("https://a.example/#x"), /fragment/);
});
