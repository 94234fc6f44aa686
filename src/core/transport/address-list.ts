// Address lists in the configuration (`http.websocketTrustedInsecure`, `http.metricsAllow`):
// comma-separated tokens, each one of
//   any        every address
//   none       no address (alone)
//   loopback   127.0.0.0/8 and ::1
//   private    10/8, 172.16/12, 192.168/16, 169.254/16, fc00::/7, fe80::/10
//   an IP literal (192.0.2.7, 2001:db8::1) or a CIDR range (192.0.2.0/24, 2001:db8::/32).
// IPv4-mapped IPv6 peers (::ffff:127.0.0.1, as seen on a dual-stack listener) match as IPv4.
import { BlockList, isIP } from "node:net";

export interface AddressList {
  /** The list as configured (for logs and docs). */
  readonly source: string;
  matches(address: string | undefined): boolean;
}

const KEYWORDS = new Set(["any", "none", "loopback", "private"]);

const LOOPBACK: Array<[string, number, "ipv4" | "ipv6"]> = [
  ["127.0.0.0", 8, "ipv4"],
  ["::1", 128, "ipv6"],
];
const PRIVATE: Array<[string, number, "ipv4" | "ipv6"]> = [
  ["10.0.0.0", 8, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["169.254.0.0", 16, "ipv4"],
  ["fc00::", 7, "ipv6"],
  ["fe80::", 10, "ipv6"],
];

function tokens(value: string): string[] {
  return value
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "");
}

function cidr(token: string): [string, number, "ipv4" | "ipv6"] | undefined {
  const slash = token.indexOf("/");
  const ip = slash === -1 ? token : token.slice(0, slash);
  const family = isIP(ip);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = token.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    if (prefix > max) return undefined;
  }
  return [ip, prefix, family === 4 ? "ipv4" : "ipv6"];
}

/** Config check: undefined when valid, else what was expected. */
export function checkAddressList(value: string): string | undefined {
  const expected =
    'a comma-separated list of "any", "none", "loopback", "private", IP addresses and CIDR ranges (e.g. "loopback,10.0.0.0/8")';
  const list = tokens(value);
  if (list.length === 0) return expected;
  for (const t of list) {
    if (KEYWORDS.has(t)) continue;
    if (!cidr(t)) return expected;
  }
  if (list.includes("none") && list.length > 1) return '"none" on its own (it cannot be combined with other entries)';
  return undefined;
}

/** Strips the IPv4-mapped prefix so ::ffff:10.1.2.3 matches IPv4 rules. */
export function normalizeAddress(address: string): string {
  if (address.length > 7 && address.slice(0, 7).toLowerCase() === "::ffff:" && isIP(address.slice(7)) === 4) return address.slice(7);
  return address;
}

export function parseAddressList(value: string): AddressList {
  const problem = checkAddressList(value);
  if (problem) throw new Error(`invalid address list ${JSON.stringify(value)}: expected ${problem}`);
  const list = tokens(value);
  const source = list.join(",");
  if (list.includes("any")) return { source, matches: () => true };
  if (list.includes("none")) return { source, matches: () => false };
  const block = new BlockList();
  const add = ([ip, prefix, type]: [string, number, "ipv4" | "ipv6"]) => block.addSubnet(ip, prefix, type);
  for (const t of list) {
    if (t === "loopback") LOOPBACK.forEach(add);
    else if (t === "private") PRIVATE.forEach(add);
    else add(cidr(t)!);
  }
  return {
    source,
    matches(address) {
      if (!address) return false;
      const a = normalizeAddress(address);
      const family = isIP(a);
      if (family === 0) return false;
      return block.check(a, family === 4 ? "ipv4" : "ipv6");
    },
  };
}
