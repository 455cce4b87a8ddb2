/**
 * @module Client-side routing decision (DESIGN §3.4, reference/security.md §1.3 SDK steps 1–3): send a
 * request direct, through the gateway ("instrument"), or refuse it. No DNS, ever: a name is never exempt,
 * because a rebinding attacker could point it at the internet and receive unsigned traffic.
 */

import ipaddr from 'ipaddr.js';
import { SphyrConfigError, SphyrPolicyError } from '../errors.js';
import { COMPILED_DIRECT_IPV4 } from './ip-ranges.js';

/** Where the SDK sends a request. */
export type Route = 'direct' | 'instrument' | 'refuse';

/** Options for {@link classifyForInstrumentation}. */
export interface ClassifyOptions {
  /** The gateway base URL; requests to its exact `host` (name plus non-default port) go direct. */
  gatewayUrl: string;
  /** Extra exact hostnames sent direct (compared with `URL.hostname`, e.g. `db.lan`, `[fd00::1]`). */
  directHosts?: readonly string[];
  /** Exact hostnames always instrumented, even `127.0.0.1` or `localhost`; wins over everything but refuse. */
  instrumentHosts?: readonly string[];
}

const HTTP_SCHEMES = new Set(['http:', 'https:']);

/** Hostnames the spec exempts by name. Only these spellings: no trailing dot, no IPv6 embeddings. */
const DIRECT_NAMES = new Set(['localhost', '[::1]']);

/**
 * Canonicalises a configured hostname the way WHATWG would print it (lowercase, punycode, IPv4 dotted
 * quad), so `LOCALHOST` or `Bücher.example` in a config matches. Anything with a port, path or userinfo is
 * kept verbatim and therefore never matches a real hostname.
 */
function canonicalHostname(entry: string): string {
  try {
    const u = new URL(`http://${entry}/`);
    if (u.host === u.hostname && u.pathname === '/' && u.username === '' && !entry.includes('@')) {
      return u.hostname;
    }
  } catch {
    // fall through: an unparseable entry simply never matches
  }
  return entry;
}

function isDirectIPv4(hostname: string): boolean {
  // WHATWG already turned 0x7f.1, 2130706433, 127.1 … into a dotted quad; only that form is accepted here.
  if (!ipaddr.IPv4.isValidFourPartDecimal(hostname)) return false;
  const addr = ipaddr.IPv4.parse(hostname);
  return COMPILED_DIRECT_IPV4.some((range) => addr.match(range));
}

function parseUrl(url: string | URL): URL | undefined {
  try {
    return new URL(url instanceof URL ? url.href : url);
  } catch {
    return undefined;
  }
}

/**
 * Decides how the SDK sends `url`: `direct` (gateway itself, `localhost`, `[::1]`, IPv4 literals in
 * 127/8, 10/8, 172.16/12, 192.168/16, or `directHosts`), `instrument` (everything else, including
 * 169.254.169.254, `localhost.`, `[::ffff:127.0.0.1]`, and any name), or `refuse` (unparseable, or not
 * http/https). Classify the same `URL` object you then hand to the transport.
 *
 * @throws {SphyrConfigError} code `invalid_gateway_url` when `opts.gatewayUrl` is not an http(s) URL.
 * @example classifyForInstrumentation('http://0x7f.1/', { gatewayUrl: 'https://gw.example' }) //=> 'direct'
 */
export function classifyForInstrumentation(url: string | URL, opts: ClassifyOptions): Route {
  const gateway = parseUrl(opts.gatewayUrl);
  if (!gateway || !HTTP_SCHEMES.has(gateway.protocol)) {
    throw new SphyrConfigError(
      'invalid_gateway_url',
      `gateway URL ${JSON.stringify(opts.gatewayUrl)} is not an http(s) URL; set SPHYR_GATEWAY_URL or run \`sphyr login\``,
    );
  }
  const u = parseUrl(url);
  if (!u || !HTTP_SCHEMES.has(u.protocol)) return 'refuse';
  const host = u.hostname;
  if (opts.instrumentHosts?.some((entry) => canonicalHostname(entry) === host)) return 'instrument';
  if (u.host === gateway.host) return 'direct';
  if (DIRECT_NAMES.has(host) || isDirectIPv4(host)) return 'direct';
  if (opts.directHosts?.some((entry) => canonicalHostname(entry) === host)) return 'direct';
  return 'instrument';
}

/**
 * The outbound URL as signed in `sphyr-target-uri` and sent to the gateway: WHATWG-canonical href,
 * fragment removed. The input is never mutated.
 * @throws {SphyrPolicyError} code `invalid_url` when unparseable, `scheme_not_allowed` when not http(s).
 * @example canonicalTargetUri('HTTP://Example.COM:80/a?b#frag') //=> 'http://example.com/a?b'
 */
export function canonicalTargetUri(url: string | URL): string {
  const u = parseUrl(url);
  if (!u) throw new SphyrPolicyError('invalid_url', 'the target URL could not be parsed');
  if (!HTTP_SCHEMES.has(u.protocol)) {
    throw new SphyrPolicyError('scheme_not_allowed', `only http and https are allowed, not ${u.protocol}`);
  }
  u.hash = '';
  return u.href;
}
