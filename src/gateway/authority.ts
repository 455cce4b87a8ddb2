/**
 * @module The authorities (`host[:port]`) this gateway answers signed requests for. A signature
 * covers `@authority`, the `Host` the client sent; without this check a request signed for another
 * gateway (or environment) sharing the key would be accepted here. They come from `--public-url`
 * and the listen address:
 * - the public URL's authority, if one is set;
 * - a specific bind: that address, plus `localhost` when it is a loopback address, plus `--host`
 *   when it was given as a name;
 * - a wildcard bind (0.0.0.0, ::): `localhost` and the loopback addresses; and, only without a
 *   public URL, any address of this machine's interfaces (of the bound family) and its host name.
 * Hosts compare in WHATWG-canonical form (lowercase, IPv6 compressed), one trailing dot ignored; a
 * missing port is the default of that authority's scheme (https 443, http 80).
 */
import net from 'node:net';
import os from 'node:os';
import { systemInterfaces } from './self-address.js';

export interface AuthoritySources {
  /** The address the listener is bound to (`server.address().address`). */
  address: string;
  port: number;
  /** `--host` as given, when it is a name rather than an address (e.g. `gw.lan`). */
  hostOption?: string;
  /** `--public-url`. */
  publicUrl?: string;
  /** This machine's interface addresses; read when needed, so an address added later counts. */
  interfaceAddresses?: () => readonly string[];
  /** This machine's host name (default `os.hostname()`). */
  hostname?: string;
}

interface Authority {
  host: string;
  port: number;
  /** The port a `Host` without one means: its scheme's default. */
  defaultPort: number;
}

const HTTP_PORT = 80;
const HTTPS_PORT = 443;

// host[:port] and nothing else: a bracketed IPv6 literal or a name / IPv4 of plain ASCII.
const AUTHORITY_SYNTAX = /^(?:(\[[0-9A-Fa-f:.]+\])|([A-Za-z0-9._-]+))(?::([0-9]{0,5}))?$/;

/** The canonical form of a host (URL-hostname form: IPv6 in brackets), or undefined if it is none. */
export function canonicalHost(host: string): string | undefined {
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
  const trimmed = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return trimmed === '' || trimmed.endsWith('.') ? undefined : trimmed;
}

/** Splits and canonicalizes a `Host` value; undefined when it is not exactly `host[:port]`. */
function parseAuthority(value: string): { host: string; port: number | undefined } | undefined {
  const match = AUTHORITY_SYNTAX.exec(value);
  if (!match) return undefined;
  const host = canonicalHost((match[1] ?? match[2]) as string);
  const portText = match[3];
  const port = portText === undefined || portText === '' ? undefined : Number(portText);
  if (host === undefined || (port !== undefined && port > 65535)) return undefined;
  return { host, port };
}

function isIpLiteral(host: string): boolean {
  return host.startsWith('[') || net.isIPv4(host);
}

function bracketed(address: string): string {
  return net.isIPv6(address) ? `[${address}]` : address;
}

function isLoopback(address: string): boolean {
  return address === '::1' || (net.isIPv4(address) && address.startsWith('127.'));
}

/** What this gateway answers signed requests for. */
export class GatewayAuthorities {
  readonly #fixed: Authority[] = [];
  /** For a wildcard bind without a public URL: which interface addresses count (by family). */
  readonly #interfaces: { ipv6: boolean; port: number; list: () => readonly string[] } | undefined;

  constructor(sources: AuthoritySources) {
    const add = (host: string | undefined, port: number, defaultPort = HTTP_PORT) => {
      const canonical = host === undefined ? undefined : canonicalHost(host);
      if (canonical === undefined) return;
      if (this.#fixed.some((a) => a.host === canonical && a.port === port && a.defaultPort === defaultPort))
        return;
      this.#fixed.push({ host: canonical, port, defaultPort });
    };
    const { address, port } = sources;
    if (sources.publicUrl) {
      const url = new URL(sources.publicUrl);
      const defaultPort = url.protocol === 'https:' ? HTTPS_PORT : HTTP_PORT;
      add(url.hostname, url.port === '' ? defaultPort : Number(url.port), defaultPort);
    }
    const wildcard = address === '0.0.0.0' || address === '::';
    if (wildcard) {
      add('localhost', port);
      add('127.0.0.1', port);
      if (address === '::') add('[::1]', port);
    } else {
      add(bracketed(address), port);
      if (isLoopback(address)) add('localhost', port);
    }
    if (sources.hostOption && net.isIP(sources.hostOption) === 0) add(sources.hostOption, port);
    if (wildcard && !sources.publicUrl) {
      add(sources.hostname ?? os.hostname(), port);
      this.#interfaces = {
        ipv6: address === '::',
        port,
        list: sources.interfaceAddresses ?? systemInterfaces,
      };
    }
  }

  /** True when `value` (a `Host` header) names this gateway. */
  accepts(value: string | undefined): boolean {
    if (value === undefined) return false;
    const parsed = parseAuthority(value);
    if (!parsed) return false;
    const { host, port } = parsed;
    if (this.#fixed.some((a) => a.host === host && (port ?? a.defaultPort) === a.port)) return true;
    const any = this.#interfaces;
    if (!any || !isIpLiteral(host) || (port ?? HTTP_PORT) !== any.port) return false;
    if (host.startsWith('[') && !any.ipv6) return false;
    return any.list().some((address) => canonicalHost(bracketed(address)) === host);
  }

  /** The authorities in words, for the operator. */
  describe(): string[] {
    const out = this.#fixed.map((a) => (a.port === a.defaultPort ? a.host : `${a.host}:${a.port}`));
    if (this.#interfaces) {
      const family = this.#interfaces.ipv6 ? 'any' : 'any IPv4';
      out.push(`${family} address of this machine on port ${this.#interfaces.port}`);
    }
    return out;
  }
}
