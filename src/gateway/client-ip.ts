/**
 * @module Who is asking: the socket's peer, or, when that peer is a proxy the operator trusts
 * (`--trust-proxy`), the address it reports in X-Forwarded-For. Rate limits, sign-in limits and the
 * log all use this, so behind a TLS proxy they count clients, not the proxy.
 */

import type { IncomingMessage } from 'node:http';
import { type Cidr, canonicalAddress, peerInRanges } from '../policy/address.js';

/**
 * Walk X-Forwarded-For from the right (each proxy appends the address it saw): the first hop that
 * is not a trusted proxy is the client. A malformed entry stops the walk: nothing left of it can be
 * believed, so the last trusted answer, the proxy itself, stands.
 */
export function clientIp(req: IncomingMessage, trustedProxies: readonly Cidr[]): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustedProxies.length === 0 || !peerInRanges(peer, trustedProxies)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = canonicalAddress(hops[i] as string);
    if (hop === undefined) return client;
    client = hop;
    if (!peerInRanges(hop, trustedProxies)) return hop;
  }
  return client;
}
