// Which IP addresses a calendar fetch may connect to (SSRF guard).
//
// Always refused: unspecified (0.0.0.0/8, ::), multicast, broadcast and reserved (240/4),
// the cloud metadata endpoints (169.254.169.254, fd00:ec2::254, 100.100.100.200), documentation
// and benchmarking ranges, and anything that is not a unicast IP.
// Refused unless `allowPrivateNetworks`: loopback (127/8, ::1), RFC 1918 private
// (10/8, 172.16/12, 192.168/16), link-local (169.254/16, fe80::/10), CGNAT (100.64/10),
// IETF protocol assignments (192.0.0.0/24), unique-local (fc00::/7), site-local (fec0::/10).
// IPv6 forms that embed an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d,
// NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by the embedded IPv4 address; Teredo
// (2001::/32) is refused, since the client address it embeds is obfuscated.
import { BlockList, isIP } from "node:net";

type Range = [string, number];

function list(ranges: { v4?: Range[]; v6?: Range[] }): BlockList {
  const b = new BlockList();
  for (const [a, p] of ranges.v4 ?? []) b.addSubnet(a, p, "ipv4");
  for (const [a, p] of ranges.v6 ?? []) b.addSubnet(a, p, "ipv6");
  return b;
}

const ALWAYS = list({
  v4: [
    ["0.0.0.0", 8], // "this network"; 0.0.0.0 reaches the local host on Linux
    ["192.0.2.0", 24], // TEST-NET-1
    ["198.18.0.0", 15], // benchmarking
    ["198.51.100.0", 24], // TEST-NET-2
    ["203.0.113.0", 24], // TEST-NET-3
    ["224.0.0.0", 4], // multicast
    ["240.0.0.0", 4], // reserved, and 255.255.255.255 broadcast
    ["169.254.169.254", 32], // cloud instance metadata (AWS, GCP, Azure, OpenStack …)
    ["100.100.100.200", 32], // Alibaba Cloud metadata
  ],
  v6: [
    ["::", 128], // unspecified
    ["ff00::", 8], // multicast
    ["2001:db8::", 32], // documentation
    ["100::", 64], // discard-only
    ["2001::", 32], // Teredo
    ["fd00:ec2::254", 128], // AWS metadata over IPv6
  ],
});

const PRIVATE = list({
  v4: [
    ["127.0.0.0", 8],
    ["10.0.0.0", 8],
    ["172.16.0.0", 12],
    ["192.168.0.0", 16],
    ["169.254.0.0", 16],
    ["100.64.0.0", 10],
    ["192.0.0.0", 24],
  ],
  v6: [
    ["::1", 128],
    ["fe80::", 10],
    ["fc00::", 7],
    ["fec0::", 10],
  ],
});

/** 16 bytes of an IPv6 address (no zone id). */
function v6Bytes(address: string): number[] | undefined {
  let a = address;
  let tail: number[] = [];
  const lastColon = a.lastIndexOf(":");
  const maybeV4 = a.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    if (isIP(maybeV4) !== 4) return undefined;
    tail = maybeV4.split(".").map(Number);
    a = a.slice(0, lastColon + 1) + "0:0";
  }
  const halves = a.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] => (s === "" ? [] : s.split(":").map((h) => parseInt(h, 16)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const groups = halves.length === 2 ? [...head, ...new Array(8 - head.length - rest.length).fill(0), ...rest] : head;
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return undefined;
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** The IPv4 address embedded in an IPv6 one (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedIPv4(address: string): string | undefined {
  const b = v6Bytes(address);
  if (!b) return undefined;
  const zero = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  const v4 = (i: number): string => b.slice(i, i + 4).join(".");
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12); // ::ffff:a.b.c.d
  if (zero(0, 12) && !(b[12] === 0 && b[13] === 0 && b[14] === 0 && b[15] <= 1)) return v4(12); // ::a.b.c.d (not :: or ::1)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return v4(12); // 64:ff9b::/96
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2); // 2002:aabb:ccdd::/48
  return undefined;
}

export interface AddressPolicyOptions {
  allowPrivateNetworks: boolean;
}

/**
 * Why `address` may not be connected to, or undefined when it may. The reason completes
 * "… resolves to 10.0.0.1, <reason>".
 */
export function addressRefusal(address: string, opts: AddressPolicyOptions): string | undefined {
  const bare = address.replace(/%.*$/, "");
  const family = isIP(bare);
  if (family === 0) return "which is not an IP address";
  if (family === 6) {
    const v4 = embeddedIPv4(bare);
    if (v4 !== undefined) {
      const r = addressRefusal(v4, opts);
      return r === undefined ? undefined : `${r} (IPv4 ${v4} inside an IPv6 address)`;
    }
  }
  const type = family === 4 ? "ipv4" : "ipv6";
  if (ALWAYS.check(bare, type)) return "a reserved, multicast, unspecified or metadata address, which is never allowed";
  if (!opts.allowPrivateNetworks && PRIVATE.check(bare, type)) {
    return "a loopback, private, link-local, CGNAT or unique-local address, which is not allowed (calendar.allowPrivateNetworks is false)";
  }
  return undefined;
}
