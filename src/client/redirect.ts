/**
 * @module The rules for following one redirect hop yourself, as the Fetch standard's "HTTP-redirect
 * fetch" states them, for every Sphyr part that follows redirects hop by hop (the SDK's axios
 * adapter, sphyr-mcp's fetch tool, webhook delivery): credentials never cross origins, and the
 * method changes where browsers change it.
 */

/** Headers that carry the caller's credentials: never sent to another origin. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** Same origin: same scheme, host and port (a default port written out counts as the same). */
export function isSameOrigin(from: URL | string, to: URL | string): boolean {
  return new URL(from).origin === new URL(to).origin;
}

type HeaderRecord = Record<string, unknown>;
type HeaderShape = Headers | Array<[string, string]> | HeaderRecord;

/**
 * The headers to send on a redirect hop from `from` to `to`: unchanged for the same origin; for
 * another origin (scheme, host or port), a copy without `Authorization`, `Proxy-Authorization` and
 * `Cookie`, whatever their case. A `Headers`, an array of pairs or a plain record comes back as the
 * same kind; anything else with `toJSON()` (axios's AxiosHeaders) as a plain record.
 */
export function stripCredentialsOnCrossOrigin<H extends HeaderShape | undefined>(
  headers: H,
  from: URL | string,
  to: URL | string,
): H;
export function stripCredentialsOnCrossOrigin(
  headers: HeaderShape | undefined,
  from: URL | string,
  to: URL | string,
): HeaderShape | undefined {
  if (!headers || isSameOrigin(from, to)) return headers;
  const keep = (name: string) => !CREDENTIAL_HEADERS.has(name.toLowerCase());
  if (headers instanceof Headers) {
    const copy = new Headers(headers);
    for (const name of CREDENTIAL_HEADERS) copy.delete(name);
    return copy;
  }
  if (Array.isArray(headers)) return headers.filter(([name]) => keep(name));
  const plain = (typeof headers.toJSON === 'function' ? headers.toJSON() : headers) as HeaderRecord;
  return Object.fromEntries(Object.entries(plain).filter(([name]) => keep(name)));
}

/**
 * The method and body of the next hop: 303 turns any method but HEAD into a bodiless GET, and
 * 301/302 do the same to a POST (Fetch standard, HTTP-redirect fetch step 12).
 */
export function redirectMethod(status: number, method: string): { method: string; dropBody: boolean } {
  const upper = method.toUpperCase();
  if (
    (status === 303 && upper !== 'GET' && upper !== 'HEAD') ||
    ((status === 301 || status === 302) && upper === 'POST')
  )
    return { method: 'GET', dropBody: true };
  return { method: upper, dropBody: false };
}
