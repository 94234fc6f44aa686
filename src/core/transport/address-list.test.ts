import { test } from "node:test";
import assert from "node:assert/strict";
import { checkAddressList, normalizeAddress, parseAddressList } from "./address-list.ts";

test("keywords, literals and CIDR ranges match as documented", () => {
  const loop = parseAddressList("loopback");
  for (const a of ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"]) assert.ok(loop.matches(a), a);
  for (const a of ["10.0.0.1", "::2", "192.168.1.1", "", undefined, "nonsense"]) assert.ok(!loop.matches(a), String(a));

  const priv = parseAddressList("private");
  for (const a of ["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.9", "169.254.1.1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"]) {
    assert.ok(priv.matches(a), a);
  }
  for (const a of ["172.32.0.1", "8.8.8.8", "127.0.0.1", "2001:db8::1"]) assert.ok(!priv.matches(a), a);

  const mixed = parseAddressList(" Loopback , 192.0.2.0/24, 2001:db8::7 ");
  assert.equal(mixed.source, "loopback,192.0.2.0/24,2001:db8::7");
  for (const a of ["127.0.0.1", "192.0.2.200", "2001:db8::7"]) assert.ok(mixed.matches(a), a);
  for (const a of ["192.0.3.1", "2001:db8::8"]) assert.ok(!mixed.matches(a), a);

  assert.ok(parseAddressList("any").matches("203.0.113.5"));
  assert.ok(!parseAddressList("none").matches("127.0.0.1"));
});

test("invalid lists are refused with what was expected", () => {
  for (const bad of ["", " , ", "localhost", "10.0.0.0/33", "::/129", "1.2.3.4/x", "none,loopback", "10.0.0.0/-1"]) {
    assert.ok(checkAddressList(bad) !== undefined, bad);
    assert.throws(() => parseAddressList(bad), /invalid address list/);
  }
  for (const good of ["any", "none", "loopback,private", "0.0.0.0/0", "::/0", "10.0.0.1"]) assert.equal(checkAddressList(good), undefined, good);
});

test("IPv4-mapped IPv6 addresses are normalised", () => {
  assert.equal(normalizeAddress("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(normalizeAddress("::FFFF:192.0.2.1"), "192.0.2.1");
  assert.equal(normalizeAddress("::ffff:abcd"), "::ffff:abcd");
  assert.equal(normalizeAddress("2001:db8::1"), "2001:db8::1");
});
