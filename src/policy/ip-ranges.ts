/**
 * @module SSRF address tables (reference/security.md §1.3), kept as data so reviews compare them line by
 * line with the IANA special-purpose registries. Order matters: the first matching row wins, so exact
 * metadata addresses come before the ranges that contain them, and narrow rows before wide ones.
 */

import type { IPv4, IPv6 } from 'ipaddr.js';
import ipaddr from 'ipaddr.js';

/** Stable reason codes for a non-public address (logged, returned to callers, matched by tests). */
export type DenyReason =
  | 'ssrf_this_network'
  | 'ssrf_unspecified'
  | 'ssrf_private'
  | 'ssrf_cgnat'
  | 'ssrf_loopback'
  | 'ssrf_link_local'
  | 'ssrf_metadata'
  | 'ssrf_reserved'
  | 'ssrf_documentation'
  | 'ssrf_benchmarking'
  | 'ssrf_multicast'
  | 'ssrf_ipv6_embedded';

/** One row of a deny table: a CIDR (or a bare address, meaning the single host), its code and why. */
export interface DenyRange {
  readonly cidr: string;
  readonly reason: DenyReason;
  readonly note: string;
}

/** Cloud metadata endpoints. Checked first so they report `ssrf_metadata`, not their range's code. */
export const METADATA_ADDRESSES: readonly DenyRange[] = [
  { cidr: '169.254.169.254/32', reason: 'ssrf_metadata', note: 'AWS/GCP/Azure/OpenStack/DO/Hetzner IMDS' },
  { cidr: '169.254.170.2/32', reason: 'ssrf_metadata', note: 'AWS ECS task metadata and credentials' },
  { cidr: '168.63.129.16/32', reason: 'ssrf_metadata', note: 'Azure WireServer; public-looking address' },
  { cidr: '100.100.100.200/32', reason: 'ssrf_metadata', note: 'Alibaba Cloud metadata' },
  { cidr: '192.0.0.192/32', reason: 'ssrf_metadata', note: 'Oracle Cloud metadata' },
  { cidr: 'fd00:ec2::254/128', reason: 'ssrf_metadata', note: 'AWS IMDS over IPv6' },
];

/**
 * IPv4 deny table. Everything not listed is public. 0.0.0.0 itself reports `ssrf_unspecified` (like `::`)
 * because Linux routes it to the local host; the rest of 0/8 is `ssrf_this_network`.
 */
export const IPV4_DENY: readonly DenyRange[] = [
  {
    cidr: '0.0.0.0/32',
    reason: 'ssrf_unspecified',
    note: 'unspecified; connects to the local host on Linux',
  },
  { cidr: '0.0.0.0/8', reason: 'ssrf_this_network', note: '"this network" (RFC 791, RFC 1122)' },
  { cidr: '10.0.0.0/8', reason: 'ssrf_private', note: 'RFC 1918' },
  { cidr: '100.64.0.0/10', reason: 'ssrf_cgnat', note: 'shared address space (RFC 6598): CGNAT, Tailscale' },
  { cidr: '127.0.0.0/8', reason: 'ssrf_loopback', note: 'loopback' },
  { cidr: '169.254.0.0/16', reason: 'ssrf_link_local', note: 'link-local (RFC 3927), home of IMDS' },
  { cidr: '172.16.0.0/12', reason: 'ssrf_private', note: 'RFC 1918' },
  { cidr: '192.0.0.0/24', reason: 'ssrf_reserved', note: 'IETF protocol assignments (RFC 6890)' },
  { cidr: '192.0.2.0/24', reason: 'ssrf_documentation', note: 'TEST-NET-1 (RFC 5737)' },
  { cidr: '192.88.99.0/24', reason: 'ssrf_reserved', note: 'deprecated 6to4 relay anycast (RFC 7526)' },
  { cidr: '192.168.0.0/16', reason: 'ssrf_private', note: 'RFC 1918' },
  { cidr: '198.18.0.0/15', reason: 'ssrf_benchmarking', note: 'benchmarking (RFC 2544)' },
  { cidr: '198.51.100.0/24', reason: 'ssrf_documentation', note: 'TEST-NET-2 (RFC 5737)' },
  { cidr: '203.0.113.0/24', reason: 'ssrf_documentation', note: 'TEST-NET-3 (RFC 5737)' },
  { cidr: '224.0.0.0/4', reason: 'ssrf_multicast', note: 'multicast (RFC 5771)' },
  {
    cidr: '240.0.0.0/4',
    reason: 'ssrf_reserved',
    note: 'reserved (RFC 1112), includes broadcast 255.255.255.255',
  },
];

/**
 * IPv6 deny table. Only 2000::/3 is global unicast; any address outside it that no row names is
 * `ssrf_reserved` (see {@link IPV6_GLOBAL_UNICAST}). The rows outside 2000::/3 exist to give a precise
 * code; the rows inside it are the holes the allow-rule would otherwise let through.
 */
export const IPV6_DENY: readonly DenyRange[] = [
  { cidr: '::/128', reason: 'ssrf_unspecified', note: 'unspecified; connects to the local host on Linux' },
  { cidr: '::1/128', reason: 'ssrf_loopback', note: 'loopback' },
  { cidr: '::ffff:0:0/96', reason: 'ssrf_ipv6_embedded', note: 'IPv4-mapped (RFC 4291); WHATWG prints hex' },
  { cidr: '::ffff:0:0:0/96', reason: 'ssrf_ipv6_embedded', note: 'SIIT IPv4-translated (RFC 6145)' },
  { cidr: '::/96', reason: 'ssrf_ipv6_embedded', note: 'deprecated IPv4-compatible, e.g. ::7f00:1' },
  { cidr: '64:ff9b::/96', reason: 'ssrf_ipv6_embedded', note: 'NAT64 well-known prefix (RFC 6052)' },
  { cidr: '64:ff9b:1::/48', reason: 'ssrf_ipv6_embedded', note: 'NAT64 local-use prefix (RFC 8215)' },
  { cidr: '100::/64', reason: 'ssrf_reserved', note: 'discard-only (RFC 6666)' },
  { cidr: '2001::/32', reason: 'ssrf_ipv6_embedded', note: 'Teredo (RFC 4380); embeds an IPv4' },
  { cidr: '2001:2::/48', reason: 'ssrf_benchmarking', note: 'benchmarking (RFC 5180)' },
  { cidr: '2001::/23', reason: 'ssrf_reserved', note: 'IETF protocol assignments: ORCHID, AMT, AS112…' },
  { cidr: '2001:db8::/32', reason: 'ssrf_documentation', note: 'documentation (RFC 3849)' },
  { cidr: '2002::/16', reason: 'ssrf_ipv6_embedded', note: '6to4 (RFC 3056); embeds an IPv4' },
  { cidr: '3fff::/20', reason: 'ssrf_documentation', note: 'documentation (RFC 9637)' },
  { cidr: '5f00::/16', reason: 'ssrf_reserved', note: 'SRv6 SIDs (RFC 9602)' },
  { cidr: 'fc00::/7', reason: 'ssrf_private', note: 'unique local (RFC 4193); AWS fd00:ec2::/32' },
  { cidr: 'fe80::/10', reason: 'ssrf_link_local', note: 'link-local' },
  { cidr: 'fec0::/10', reason: 'ssrf_reserved', note: 'deprecated site-local (RFC 3879)' },
  { cidr: 'ff00::/8', reason: 'ssrf_multicast', note: 'multicast' },
];

/** The only IPv6 space that may be public (RFC 4291 global unicast), minus the rows of {@link IPV6_DENY}. */
export const IPV6_GLOBAL_UNICAST = '2000::/3';

/**
 * IPv4 ranges the SDK sends direct without signing (DESIGN §3.4): the agent's own loopback and LAN.
 * Link-local 169.254/16 is deliberately absent so metadata always goes through the gateway.
 */
export const DIRECT_IPV4_RANGES: readonly string[] = [
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
];

/** A parsed range row, ready for `ipaddr` matching. */
export interface CompiledRange<T extends IPv4 | IPv6> {
  readonly range: [T, number];
  readonly reason: DenyReason;
}

function compile<T extends IPv4 | IPv6>(
  rows: readonly DenyRange[],
  kind: 'ipv4' | 'ipv6',
): CompiledRange<T>[] {
  return rows
    .map((row) => ({ range: ipaddr.parseCIDR(row.cidr), reason: row.reason }))
    .filter((row): row is CompiledRange<T> => row.range[0].kind() === kind);
}

/** IPv4 rows in match order: metadata addresses first, then {@link IPV4_DENY}. */
export const COMPILED_IPV4_DENY: readonly CompiledRange<IPv4>[] = [
  ...compile<IPv4>(METADATA_ADDRESSES, 'ipv4'),
  ...compile<IPv4>(IPV4_DENY, 'ipv4'),
];

/** IPv6 rows in match order: metadata addresses first, then {@link IPV6_DENY}. */
export const COMPILED_IPV6_DENY: readonly CompiledRange<IPv6>[] = [
  ...compile<IPv6>(METADATA_ADDRESSES, 'ipv6'),
  ...compile<IPv6>(IPV6_DENY, 'ipv6'),
];

/** {@link IPV6_GLOBAL_UNICAST}, parsed. */
export const COMPILED_IPV6_GLOBAL_UNICAST: [IPv6, number] = ipaddr.IPv6.parseCIDR(IPV6_GLOBAL_UNICAST);

/** {@link DIRECT_IPV4_RANGES}, parsed. */
export const COMPILED_DIRECT_IPV4: readonly [IPv4, number][] = DIRECT_IPV4_RANGES.map((cidr) =>
  ipaddr.IPv4.parseCIDR(cidr),
);
