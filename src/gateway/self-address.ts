/**
 * @module The loop guard (issue 11 item 2): does a connection to `ip:port` reach this gateway's own
 * listening socket? Decided on what the socket reaches, never on address text: every loopback address
 * (all of 127/8, `::1`) on a loopback or wildcard bind, every local interface address on a wildcard bind,
 * the unspecified address (Linux connects it to this host), and the IPv4-mapped spelling of each.
 */

import os from 'node:os';
import type { IPv4, IPv6 } from 'ipaddr.js';
import ipaddr from 'ipaddr.js';

/** Where the gateway listens, as `server.address()` reports it. */
export interface ListenAddress {
  address: string;
  port: number;
}

/** Local interface addresses; injected so tests need no particular network setup. */
export type InterfaceLister = () => readonly string[];

/** Every address of every local interface right now (interfaces come and go: VPNs, containers). */
export const systemInterfaces: InterfaceLister = () =>
  Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((info) => info.address));

function parse(text: string): IPv4 | IPv6 | undefined {
  const bare = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return undefined;
  const addr = ipaddr.parse(bare);
  // A dual-stack socket dials ::ffff:a.b.c.d as the IPv4 address.
  if (addr.kind() === 'ipv6' && (addr as IPv6).isIPv4MappedAddress()) return (addr as IPv6).toIPv4Address();
  return addr;
}

function same(a: IPv4 | IPv6, b: IPv4 | IPv6): boolean {
  return a.kind() === b.kind() && a.toNormalizedString() === b.toNormalizedString();
}

const reachesThisHost = (addr: IPv4 | IPv6) => ['loopback', 'unspecified'].includes(addr.range());

/**
 * Builds `isSelf(ip, port)` for a listener. Fails closed: an address it cannot parse counts as self.
 * @param listening a function, because the port is known only after `listen()` (port 0 in tests).
 */
export function createSelfCheck(
  listening: () => ListenAddress,
  interfaces: InterfaceLister = systemInterfaces,
): (ip: string, port: number) => boolean {
  return (ip, port) => {
    const bound = listening();
    if (port !== bound.port) return false;
    const target = parse(ip);
    if (!target) return true;
    if (reachesThisHost(target)) return true;
    const bind = parse(bound.address);
    if (!bind) return true;
    if (bind.range() === 'unspecified') {
      return interfaces().some((local) => {
        const addr = parse(local);
        return addr !== undefined && same(addr, target);
      });
    }
    return same(bind, target);
  };
}

/** The public URL (behind a reverse proxy it reaches us without being a local address). */
export function selfUrls(ctx: { publicUrl: string }): string[] {
  return ctx.publicUrl ? [ctx.publicUrl] : [];
}
