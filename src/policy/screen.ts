/**
 * @module Gateway-side SSRF screen (reference/security.md §1.3 gateway steps 1–3 and 6): parse, check the
 * scheme and name, resolve once, require every answer to be public, and hand back the vetted addresses so
 * the caller dials exactly those (never the name again — that second lookup is what DNS rebinding abuses).
 */

import { type AddressReason, canonicalAddress, classifyAddress, parseCidr } from './address.js';

/** Options for {@link screenTarget}. Platform facts are injected so tests never touch real DNS. */
export interface ScreenOptions {
  /** A+AAAA lookup; called at most once per screen. */
  resolve(host: string): Promise<string[]>;
  /** The policy's `unsafeAllowRanges` (already validated at policy load). */
  unsafeAllowRanges?: readonly string[];
  /**
   * True when a connection to `ip:port` reaches one of the gateway's own listeners (loop guard),
   * asked for every answer before `unsafeAllowRanges` is consulted.
   */
  isSelf?(ip: string, port: number): boolean;
  /** URLs whose authority names this gateway (e.g. its public URL); compared by {@link authorityOf}. */
  selfUrls?: readonly string[];
}

/** Reason codes {@link screenTarget} can return. */
export type ScreenReason =
  | AddressReason
  | 'allowed'
  | 'invalid_url'
  | 'scheme_not_allowed'
  | 'credentials_in_url'
  | 'ssrf_internal_name'
  | 'dns_error'
  | 'dns_no_answer'
  | 'ssrf_self'
  | 'invalid_allow_range'
  | 'internal_error';

/** Result of {@link screenTarget}. */
export interface ScreenResult {
  verdict: 'allow' | 'block';
  reason: ScreenReason;
  /**
   * On allow: the vetted addresses (canonical text) — dial only these. On block: whatever was
   * considered, for the log only.
   */
  addresses: string[];
  /** The parsed target, when it parsed. */
  url?: URL;
}

/** Names that must never be resolved: cloud metadata aliases. */
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'instance-data']);

/** Special-use suffixes that only ever mean "inside this network" (RFC 6762, RFC 8375, ICANN). */
const INTERNAL_SUFFIXES = ['internal', 'local', 'home.arpa'];

/**
 * What `localhost` and `*.localhost` mean everywhere (RFC 6761 §6.3): the loopback addresses,
 * answered here without DNS and then judged like any answer, so the loop guard and
 * `unsafeAllowRanges` treat them exactly as they treat 127.0.0.1 and ::1.
 */
const LOOPBACK_ANSWERS = ['127.0.0.1', '::1'];

const under = (name: string, suffix: string) => name === suffix || name.endsWith(`.${suffix}`);

/** A name's fixed answers (localhost), a reason to refuse it unresolved, or nothing: ask DNS. */
function nameVerdict(hostname: string): { reason: ScreenReason } | { answers: string[] } | undefined {
  // One trailing dot is the FQDN spelling of the same name; strip exactly one.
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (METADATA_NAMES.has(name)) return { reason: 'ssrf_metadata' };
  // Empty labels (`localhost..`, `.a`) are not DNS names; refuse rather than guess what a resolver does.
  if (name === '' || name.split('.').includes('')) return { reason: 'invalid_url' };
  if (under(name, 'localhost')) return { answers: [...LOOPBACK_ANSWERS] };
  if (INTERNAL_SUFFIXES.some((suffix) => under(name, suffix))) return { reason: 'ssrf_internal_name' };
  return undefined;
}

/**
 * `host:port` as a connection sees it: WHATWG-lowercased host, one trailing dot dropped (the FQDN
 * spelling of the same name), the scheme's default port written out. Undefined for a non-URL.
 */
export function authorityOf(url: string | URL): string | undefined {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    const host = u.hostname.endsWith('.') ? u.hostname.slice(0, -1) : u.hostname;
    const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80';
    return `${host}:${port}`;
  } catch {
    return undefined;
  }
}

function block(reason: ScreenReason, addresses: string[] = [], url?: URL): ScreenResult {
  return url ? { verdict: 'block', reason, addresses, url } : { verdict: 'block', reason, addresses };
}

/**
 * Screens an outbound target for the gateway. Never throws: bad input, resolver failures and surprises
 * all block (fail closed). `localhost` and `*.localhost` are never resolved: they stand for 127.0.0.1
 * and ::1, so they pass exactly where a range opens those (and are `ssrf_loopback` otherwise). Reasons: `allowed`, `invalid_url`, `scheme_not_allowed`, `credentials_in_url`,
 * `ssrf_internal_name`, `ssrf_metadata`, `dns_error`, `dns_no_answer`, `ssrf_self`, any
 * {@link classifyAddress} code (first failing answer wins), `invalid_allow_range`, `internal_error`.
 *
 * @example
 * const r = await screenTarget('https://api.example.com/v1', { resolve: (h) => dns(h) });
 * if (r.verdict === 'allow') dialPinned(r.url, r.addresses);
 */
export async function screenTarget(url: string, opts: ScreenOptions): Promise<ScreenResult> {
  let u: URL;
  try {
    if (typeof url !== 'string') return block('invalid_url');
    u = new URL(url);
  } catch {
    return block('invalid_url');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return block('scheme_not_allowed', [], u);
  // Secrets never travel in URLs, and userinfo is the classic parser-confusion vector.
  if (u.username !== '' || u.password !== '') return block('credentials_in_url', [], u);

  const allowRanges = opts.unsafeAllowRanges ?? [];
  try {
    allowRanges.forEach(parseCidr);
  } catch {
    return block('invalid_allow_range', [], u);
  }

  if (opts.selfUrls?.some((self) => authorityOf(self) === authorityOf(u))) return block('ssrf_self', [], u);
  const hostname = u.hostname;
  let answers: unknown;
  // localhost: both loopback addresses are candidates; only those the policy opens are dialed.
  let loopbackName = false;
  if (hostname.startsWith('[') && hostname.endsWith(']')) {
    answers = [hostname.slice(1, -1)];
  } else if (canonicalAddress(hostname) !== undefined) {
    // WHATWG prints every IPv4 spelling as a dotted quad, so this is an IPv4 literal.
    answers = [hostname];
  } else {
    const named = nameVerdict(hostname);
    if (named && 'reason' in named) return block(named.reason, [], u);
    if (named) {
      answers = named.answers;
      loopbackName = true;
    } else {
      try {
        answers = await opts.resolve(hostname);
      } catch {
        return block('dns_error', [], u);
      }
    }
  }
  if (!Array.isArray(answers)) return block('dns_error', [], u);
  if (answers.length === 0) return block('dns_no_answer', [], u);

  const considered = answers.map(String);
  const port = u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  // The loop guard comes first: no allow range may open the gateway's own listener.
  if (opts.isSelf) {
    try {
      for (const answer of considered) {
        const canonical = canonicalAddress(answer);
        if (canonical !== undefined && opts.isSelf(canonical, port)) return block('ssrf_self', considered, u);
      }
    } catch {
      return block('internal_error', considered, u);
    }
  }
  if (loopbackName) {
    // Fixed answers, not a resolver's: dial the ones a range opens; none open is 127.0.0.1's refusal.
    const opened = considered.filter((a) => classifyAddress(a, { allowRanges }).public);
    if (opened.length === 0) return block('ssrf_loopback', considered, u);
    return { verdict: 'allow', reason: 'allowed', addresses: opened, url: u };
  }
  const vetted: string[] = [];
  for (const answer of answers) {
    const verdict = classifyAddress(typeof answer === 'string' ? answer : '', { allowRanges });
    const canonical = typeof answer === 'string' ? canonicalAddress(answer) : undefined;
    if (!verdict.public || canonical === undefined) {
      return block(verdict.public ? 'invalid_address' : verdict.reason, considered, u);
    }
    if (!vetted.includes(canonical)) vetted.push(canonical);
  }

  return { verdict: 'allow', reason: 'allowed', addresses: vetted, url: u };
}
