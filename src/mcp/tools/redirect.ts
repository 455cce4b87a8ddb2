/** One hop of the fetch tool's request: what it sends, and changes as redirects are followed. */
export interface Hop {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Buffer | undefined;
}

/** Never sent to an origin other than the one the caller named (Fetch §4.4, as browsers and undici do). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
/** Fetch's "request-body-header names": they describe a body that a switch to GET leaves behind. */
const BODY_HEADERS = new Set(['content-encoding', 'content-language', 'content-location', 'content-type']);

function without(headers: Array<[string, string]>, names: Set<string>): Array<[string, string]> {
  return headers.filter(([name]) => !names.has(name.toLowerCase()));
}

/**
 * The request for the next hop after a 3xx with `location`, per the Fetch standard's HTTP-redirect
 * fetch: 301/302 after POST and 303 after anything but GET/HEAD become a GET without the body and
 * its headers; 307/308 keep both; a hop to another origin (scheme, host or port) drops the
 * credential headers for this hop and every later one, even back on the first origin.
 */
export function nextHop(current: Hop, status: number, location: string): Hop {
  const target = new URL(location, current.url);
  let { method, headers, body } = current;
  if (
    ((status === 301 || status === 302) && method === 'POST') ||
    (status === 303 && method !== 'GET' && method !== 'HEAD')
  ) {
    method = 'GET';
    body = undefined;
    headers = without(headers, BODY_HEADERS);
  }
  if (target.origin !== new URL(current.url).origin) headers = without(headers, CREDENTIAL_HEADERS);
  return { method, url: target.href, headers, body };
}
