/**
 * @module Is an IP address public? The gateway's `publicAddress(ip)` from reference/security.md §1.3:
 * IPv4 by deny table, IPv6 only inside 2000::/3 minus its special holes, exact metadata addresses first.
 */

import { isIP } from 'node:net';
import type { IPv4, IPv6 } from 'ipaddr.js';
import ipaddr from 'ipaddr.js';
import { SphyrConfigError } from '../errors.js';
import {
  COMPILED_IPV4_DENY,
  COMPILED_IPV6_DENY,
  COMPILED_IPV6_GLOBAL_UNICAST,
  type DenyReason,
} from './ip-ranges.js';

/** Every reason {@link classifyAddress} can give. */
export type AddressReason = DenyReason | 'public' | 'allowed_by_unsafe_range' | 'invalid_address';

/** Result of {@link classifyAddress}. */
export interface AddressClass {
  public: boolean;
  reason: AddressReason;
}

/** A validated CIDR from {@link parseCidr}. `text` is the canonical spelling, e.g. `127.0.0.0/8`. */
export interface Cidr {
  readonly kind: 'ipv4' | 'ipv6';
  readonly range: [IPv4 | IPv6, number];
  readonly text: string;
}

interface ParsedAddress {
  addr: IPv4 | IPv6;
  zoned: boolean;
}

/**
 * Parses an address the way Node's socket layer would dial it, or returns undefined.
 * Why the extra strictness: ipaddr.js also accepts inet_aton spellings (`0x7f.1`, `010.0.0.1`) and reads
 * `::1.2.3.4` as IPv4-mapped, while Node reads it as `::102:304`. Gating on `net.isIP` and canonicalising
 * IPv6 through WHATWG first means we classify exactly the address that would be connected to.
 */
function parseStrict(text: string): ParsedAddress | undefined {
  if (typeof text !== 'string') return undefined;
  const family = isIP(text);
  if (family === 4) return { addr: ipaddr.IPv4.parse(text), zoned: false };
  if (family !== 6) return undefined;
  const zoneAt = text.indexOf('%');
  const base = zoneAt === -1 ? text : text.slice(0, zoneAt);
  let canonical: string;
  try {
    canonical = new URL(`http://[${base}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  if (!ipaddr.IPv6.isValid(canonical)) return undefined;
  return { addr: ipaddr.IPv6.parse(canonical), zoned: zoneAt !== -1 };
}

/**
 * Canonical text of an IP address (dotted quad, or RFC 5952 IPv6 without brackets), or undefined when
 * `text` is not an address Node would dial as-is.
 * @example canonicalAddress('2001:DB8:0:0::1') //=> '2001:db8::1'
 */
export function canonicalAddress(text: string): string | undefined {
  const parsed = parseStrict(text);
  if (!parsed) return undefined;
  const base =
    parsed.addr.kind() === 'ipv6' ? (parsed.addr as IPv6).toRFC5952String() : parsed.addr.toString();
  return parsed.zoned ? `${base}${text.slice(text.indexOf('%'))}` : base;
}

function denyReason(addr: IPv4 | IPv6): DenyReason | undefined {
  if (addr.kind() === 'ipv4') {
    const v4 = addr as IPv4;
    return COMPILED_IPV4_DENY.find((row) => v4.match(row.range))?.reason;
  }
  const v6 = addr as IPv6;
  const row = COMPILED_IPV6_DENY.find((r) => v6.match(r.range));
  if (row) return row.reason;
  // Why allow-list for IPv6: new special ranges keep appearing; only global unicast may be public.
  return v6.match(COMPILED_IPV6_GLOBAL_UNICAST) ? undefined : 'ssrf_reserved';
}

/**
 * Whether a peer address (as a socket reports it) is inside one of `ranges`; an IPv4-mapped IPv6
 * peer (`::ffff:10.0.0.1` on a dual-stack listener) counts as its IPv4 address. For trusting proxies,
 * not for SSRF screening (which stays strict).
 */
export function peerInRanges(ip: string, ranges: readonly Cidr[]): boolean {
  const parsed = parseStrict(ip);
  if (!parsed || parsed.zoned) return false;
  let addr = parsed.addr;
  if (addr.kind() === 'ipv6' && (addr as IPv6).isIPv4MappedAddress()) addr = (addr as IPv6).toIPv4Address();
  return ranges.some((range) => inCidr(addr, range));
}

function inCidr(addr: IPv4 | IPv6, cidr: Cidr): boolean {
  // Same family only: an IPv4 range never covers ::ffff:a.b.c.d (kept strict on purpose).
  return addr.kind() === cidr.kind && addr.match(cidr.range);
}

function fail(text: string, why: string): never {
  throw new SphyrConfigError('invalid_cidr', `${JSON.stringify(text)} is not a valid CIDR: ${why}`);
}

/**
 * Validates a CIDR such as `127.0.0.0/8` or `fd00::/8`; a bare address means that one host (/32 or /128).
 * Strict: dotted-decimal IPv4 only, no zone IDs, no host bits set beyond the prefix (so typos surface).
 * @throws {SphyrConfigError} code `invalid_cidr`, with a message saying what is wrong.
 * @example parseCidr('10.0.0.0/8').text //=> '10.0.0.0/8'
 */
export function parseCidr(text: string): Cidr {
  // Policies pass the same few ranges on every request; parse each spelling once.
  const cached = CIDR_CACHE.get(text);
  if (cached) return cached;
  const cidr = parseCidrUncached(text);
  if (CIDR_CACHE.size >= 1024) CIDR_CACHE.clear();
  CIDR_CACHE.set(text, cidr);
  return cidr;
}

const CIDR_CACHE = new Map<string, Cidr>();

function parseCidrUncached(text: string): Cidr {
  if (typeof text !== 'string' || text.length === 0) fail(String(text), 'expected text like "10.0.0.0/8"');
  const parts = text.split('/');
  if (parts.length > 2) fail(text, 'more than one "/"');
  const [addressText = '', prefixText] = parts;
  if (addressText.includes('%')) fail(text, 'zone IDs are not allowed');
  const parsed = parseStrict(addressText);
  if (!parsed) fail(text, `${JSON.stringify(addressText)} is not an IPv4 (dotted decimal) or IPv6 address`);
  const kind = parsed.addr.kind();
  const maxPrefix = kind === 'ipv4' ? 32 : 128;
  let prefix = maxPrefix;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > maxPrefix) {
      fail(text, `prefix length must be a whole number from 0 to ${maxPrefix}`);
    }
    prefix = Number(prefixText);
  }
  const network =
    kind === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${parsed.addr.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${parsed.addr.toString()}/${prefix}`);
  const show = (a: IPv4 | IPv6) => (a.kind() === 'ipv6' ? (a as IPv6).toRFC5952String() : a.toString());
  if (show(network) !== show(parsed.addr)) {
    fail(text, `host bits are set; did you mean "${show(network)}/${prefix}"?`);
  }
  return { kind, range: [parsed.addr, prefix], text: `${show(parsed.addr)}/${prefix}` };
}

/**
 * Classifies one IP address (no brackets; as a resolver returns it) for the gateway's SSRF screen.
 * `reason` is `public` when allowed, else a stable code: `ssrf_private`, `ssrf_loopback`, `ssrf_metadata`,
 * `ssrf_ipv6_embedded`, … or `invalid_address` for anything Node would not dial as an IP literal
 * (including inet_aton spellings like `127.1`: canonicalise with WHATWG `URL` first).
 *
 * `allowRanges` (the policy's `unsafeAllowRanges`) narrows the deny list: a denied address inside one is
 * public with reason `allowed_by_unsafe_range`. A metadata address is only opened by a range that names
 * exactly that address (/32 or /128), so allowing 169.254.0.0/16 for a link-local device never opens IMDS.
 *
 * An address is judged by what the socket reaches as well as by its spelling (see {@link reachedAddresses}):
 * `::ffff:169.254.169.254` must pass the IPv6 rules as written and the IPv4 rules as 169.254.169.254, so
 * `::ffff:0:0/96` or `::/0` never opens metadata or loopback behind it; `0.0.0.0` and `::` are judged as
 * loopback too.
 *
 * @throws {SphyrConfigError} when an entry of `allowRanges` is not a valid CIDR (see {@link parseCidr}).
 * @example classifyAddress('::ffff:a9fe:a9fe') //=> { public: false, reason: 'ssrf_ipv6_embedded' }
 */
export function classifyAddress(ip: string, opts: { allowRanges?: readonly string[] } = {}): AddressClass {
  const allow = (opts.allowRanges ?? []).map(parseCidr);
  const parsed = parseStrict(ip);
  if (!parsed) return { public: false, reason: 'invalid_address' };
  const written = judge(parsed.addr, parsed.zoned, allow);
  if (!written.public) return written;
  // Judge what the socket reaches too: opening an IPv6 spelling never opens the IPv4 behind it.
  const refused = reachedAddresses(parsed.addr)
    .map((reached) => judge(reached, false, allow))
    .filter((verdict) => !verdict.public);
  // Several candidates (local-use NAT64): name metadata if any of them is, it is what an alert needs.
  return refused.find((v) => v.reason === 'ssrf_metadata') ?? refused[0] ?? written;
}

function judge(addr: IPv4 | IPv6, zoned: boolean, allow: readonly Cidr[]): AddressClass {
  const denied = denyReason(addr);
  if (denied === undefined) {
    // A zone only makes sense for link-local scopes; on a global address it is a parser trick.
    return zoned ? { public: false, reason: 'invalid_address' } : { public: true, reason: 'public' };
  }
  const opened = allow.some(
    (cidr) =>
      inCidr(addr, cidr) &&
      (denied !== 'ssrf_metadata' || cidr.range[1] === (cidr.kind === 'ipv4' ? 32 : 128)),
  );
  return opened ? { public: true, reason: 'allowed_by_unsafe_range' } : { public: false, reason: denied };
}

const LOOPBACK_V4 = ipaddr.IPv4.parse('127.0.0.1');
const LOOPBACK_V6 = ipaddr.IPv6.parse('::1');

function v4(bytes: readonly number[], at: number, invert = false): IPv4 {
  const octets = bytes.slice(at, at + 4).map((b) => (invert ? b ^ 0xff : b));
  return new ipaddr.IPv4(octets);
}

/**
 * The addresses a connection to `addr` may reach other than `addr` as written: the unspecified
 * address reaches this host (Linux), an IPv4-mapped address is dialled as its IPv4 (dual-stack socket),
 * and the IPv4-embedding forms (SIIT, IPv4-compatible, NAT64 RFC 6052: /96 for the well-known prefix,
 * every layout from /48 for the local-use 64:ff9b:1::/48, 6to4 RFC 3056, Teredo
 * RFC 4380 server and client) end at the IPv4 they carry when a translator or tunnel is on the path.
 */
export function reachedAddresses(addr: IPv4 | IPv6): Array<IPv4 | IPv6> {
  if (addr.kind() === 'ipv4') return addr.toString() === '0.0.0.0' ? [LOOPBACK_V4] : [];
  const v6 = addr as IPv6;
  const b = v6.toByteArray();
  const word = (i: number) => v6.parts[i] ?? 0;
  const zeros = (from: number, to: number) => v6.parts.slice(from, to).every((p) => p === 0);
  if (v6.parts.every((p) => p === 0)) return [LOOPBACK_V6];
  if (zeros(0, 5) && word(5) === 0xffff) return [v4(b, 12)]; // ::ffff:a.b.c.d, mapped
  if (zeros(0, 4) && word(4) === 0xffff && word(5) === 0) return [v4(b, 12)]; // ::ffff:0:a.b.c.d, SIIT
  if (zeros(0, 6) && !(word(6) === 0 && word(7) <= 1)) return [v4(b, 12)]; // ::a.b.c.d, compatible
  if (word(0) === 0x64 && word(1) === 0xff9b && word(2) === 0) return [v4(b, 12)]; // NAT64 well-known /96
  if (word(0) === 0x64 && word(1) === 0xff9b && word(2) === 1) {
    // Local-use NAT64 (RFC 8215) may use any RFC 6052 layout from /48 on: judge every candidate.
    const octets = (at: number[]) => new ipaddr.IPv4(at.map((i) => b[i] ?? 0));
    return [v4(b, 12), octets([9, 10, 11, 12]), octets([7, 9, 10, 11]), octets([6, 7, 9, 10])];
  }
  if (word(0) === 0x2002) return [v4(b, 2)]; // 6to4
  if (word(0) === 0x2001 && word(1) === 0) return [v4(b, 4), v4(b, 12, true)]; // Teredo server, client
  return [];
}
