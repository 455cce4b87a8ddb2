import { redirectMethod, stripCredentialsOnCrossOrigin } from '../../client/redirect.js';

/** One hop of the fetch tool's request: what it sends, and changes as redirects are followed. */
export interface Hop {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Buffer | undefined;
}

/** Fetch's "request-body-header names": they describe a body that a switch to GET leaves behind. */
const BODY_HEADERS = new Set(['content-encoding', 'content-language', 'content-location', 'content-type']);

/**
 * The request for the next hop after a 3xx with `location`, per the Fetch standard's HTTP-redirect
 * fetch (the shared rules in client/redirect.ts): 301/302 after POST and 303 after anything but
 * GET/HEAD become a GET without the body and its headers; 307/308 keep both; a hop to another origin
 * drops the credential headers for this hop and every later one, even back on the first origin.
 */
export function nextHop(current: Hop, status: number, location: string): Hop {
  const target = new URL(location, current.url);
  const next = redirectMethod(status, current.method);
  let headers = current.headers;
  if (next.dropBody) headers = headers.filter(([name]) => !BODY_HEADERS.has(name.toLowerCase()));
  headers = stripCredentialsOnCrossOrigin(headers, current.url, target);
  return {
    method: next.method,
    url: target.href,
    headers,
    body: next.dropBody ? undefined : current.body,
  };
}
