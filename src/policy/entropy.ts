/**
 * @module Shannon entropy of a request (DESIGN §3.4): a cheap signal for data being smuggled out in a URL
 * or body. Computed for every request and logged; a policy may deny above a threshold.
 */

/** How many body bytes {@link requestEntropy} looks at; bounded so scoring stays O(1) per request. */
export const ENTROPY_BODY_PREFIX_BYTES = 4096;

function shannon(counts: Iterable<number>, total: number): number {
  let bits = 0;
  for (const count of counts) {
    const p = count / total;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * Shannon entropy in bits per symbol: per Unicode code point for a string, per byte for bytes.
 * 0 for empty input; at most 8 for bytes.
 * @example entropyScore('aaaa') //=> 0
 * @example entropyScore('abcd') //=> 2
 */
export function entropyScore(data: string | Uint8Array): number {
  if (typeof data === 'string') {
    const counts = new Map<string, number>();
    let total = 0;
    for (const ch of data) {
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
      total++;
    }
    return total === 0 ? 0 : shannon(counts.values(), total);
  }
  if (data.length === 0) return 0;
  const counts = new Array<number>(256).fill(0);
  for (const byte of data) counts[byte] = (counts[byte] ?? 0) + 1;
  return shannon(
    counts.filter((c) => c > 0),
    data.length,
  );
}

/**
 * Entropy score of an outbound request, in bits per byte, rounded to 3 decimals: over the URL's
 * pathname + search (UTF-8) followed by at most the first {@link ENTROPY_BODY_PREFIX_BYTES} body bytes.
 * The host is left out on purpose: it is chosen by the policy, not by the data being sent.
 * @example requestEntropy(new URL('https://a.example/aaaa')) //=> 0.722
 */
export function requestEntropy(url: URL, bodyPrefix?: Uint8Array): number {
  const head = new TextEncoder().encode(url.pathname + url.search);
  const body = bodyPrefix ? bodyPrefix.subarray(0, ENTROPY_BODY_PREFIX_BYTES) : new Uint8Array(0);
  const all = new Uint8Array(head.length + body.length);
  all.set(head, 0);
  all.set(body, head.length);
  return Math.round(entropyScore(all) * 1000) / 1000;
}
