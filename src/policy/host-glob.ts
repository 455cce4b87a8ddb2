/**
 * @module Host patterns for policy allow/deny lists: `api.openai.com` (exact), `*.example.com` (any
 * sub-domain, any depth, not the apex) and `*` (everything). Plain string comparison, no regex, so a
 * pattern can never be a regex injection.
 */

/** Lowercase, brackets off IPv6, one trailing dot off: `Evil.COM.` and `evil.com` must match alike. */
function normalize(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/**
 * Why a host pattern is unusable, or undefined when it is fine. Only a leading `*.` or a lone `*` may
 * contain a wildcard; anything else would silently never match, which in a deny list is a hole.
 * @example hostPatternProblem('api.*.com') //=> 'a "*" is only allowed as the whole pattern or as a leading "*."'
 */
export function hostPatternProblem(pattern: string): string | undefined {
  if (pattern === '*') return undefined;
  const rest = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  if (rest.includes('*')) return 'a "*" is only allowed as the whole pattern or as a leading "*."';
  const name = normalize(rest);
  if (name === '') return 'the pattern names no host';
  if (/[\s/?#@]/.test(name) || (name.includes(':') && !pattern.includes('['))) {
    return 'expected a hostname (no scheme, port, path or userinfo; IPv6 in brackets)';
  }
  return undefined;
}

/**
 * Canonicalises a valid pattern so it compares with WHATWG hostnames: lowercase, IDNA to punycode,
 * IPv4 to a dotted quad (`Bücher.example` → `xn--bcher-kva.example`). Unparseable names are returned
 * lowercased, unchanged otherwise.
 */
export function normalizeHostPattern(pattern: string): string {
  if (pattern === '*') return pattern;
  const wildcard = pattern.startsWith('*.');
  const rest = wildcard ? pattern.slice(2) : pattern;
  let name = rest.toLowerCase();
  try {
    const u = new URL(`http://${rest}/`);
    if (u.host === u.hostname) name = u.hostname;
  } catch {
    // keep the lowercased text; it can still match exactly
  }
  return wildcard ? `*.${name}` : name;
}

/**
 * True when `host` (a `URL.hostname`) matches `pattern`, case-insensitively and ignoring one trailing dot.
 * @example hostMatches('a.b.example.com', '*.example.com') //=> true
 * @example hostMatches('example.com', '*.example.com') //=> false
 */
export function hostMatches(host: string, pattern: string): boolean {
  if (pattern === '*') return true;
  const h = normalize(host);
  if (h === '') return false;
  if (pattern.startsWith('*.')) {
    const suffix = normalize(pattern.slice(2));
    return suffix !== '' && !suffix.includes('*') && h.endsWith(`.${suffix}`);
  }
  if (pattern.includes('*')) return false;
  return h === normalize(pattern);
}
