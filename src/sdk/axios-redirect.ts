/**
 * @module One redirect hop of an axios request, decided as axios's own http adapter decides it with
 * follow-redirects (axios 1.21 `lib/adapters/http.js` `dispatchBeforeRedirect`, follow-redirects 1.16
 * `_processResponse`). The SDK follows axios redirects itself, because each hop may need the
 * gateway, so axios's own protections live here for it:
 * - more than `maxRedirects` hops is `ERR_FR_TOO_MANY_REDIRECTS`;
 * - 301/302 after POST and 303 after anything but GET/HEAD: a GET without the body and `Content-*`;
 * - on another origin (scheme, host or port) Authorization, Cookie and the caller's
 *   `sensitiveHeaders` are dropped, and so is `auth`, which comes back only on a hop to the first
 *   request's origin; Proxy-Authorization is dropped on every hop (axios's proxy step);
 * - the caller's `beforeRedirect(options, responseDetails, requestDetails)` gets follow-redirects'
 *   arguments; what it changes in `options` is the next hop, and a throw refuses the hop
 *   (`ERR_FR_REDIRECTION_FAILURE`).
 */
import { redirectMethod, stripCredentialsOnCrossOrigin } from '../client/redirect.js';

/** One request on the wire, as follow-redirects holds it. */
export interface Hop {
  /** Without userinfo: credentials travel in `auth`. */
  url: URL;
  method: string;
  /** The caller's headers (axios adds User-Agent and the like as it sends). */
  headers: Record<string, unknown>;
  /** `user:password`, sent as Basic unless the headers carry an Authorization (Node's rule). */
  auth: string | undefined;
  body: unknown;
}

type BeforeRedirect = (
  options: Record<string, unknown>,
  responseDetails: { headers: Record<string, unknown>; statusCode: number },
  requestDetails: { url: string; method: string; headers: Record<string, unknown> },
) => void;

export interface RedirectRules {
  maxRedirects: number;
  maxBodyLength: number;
  /** The caller's `sensitiveHeaders`, lower case. */
  sensitive: readonly string[];
  /** `auth` is sent again only on a hop to this origin. */
  firstOrigin: string;
  auth: string | undefined;
  beforeRedirect: BeforeRedirect | undefined;
}

/** An error shaped as follow-redirects makes it (`Error [CODE]`), for axios to wrap as it does. */
export function redirectError(code: string, message: string, cause?: unknown): Error {
  const error = new Error(cause ? `${message}: ${(cause as { message?: unknown }).message}` : message);
  Object.defineProperty(error, 'name', { value: `Error [${code}]`, enumerable: false, configurable: true });
  return Object.assign(error, { code }, cause === undefined ? {} : { cause });
}

/** Delete every header whose name matches; the last value deleted, as follow-redirects returns it. */
function removeMatching(pattern: RegExp, headers: Record<string, unknown>): string | undefined {
  let last: unknown;
  for (const name of Object.keys(headers)) {
    if (pattern.test(name)) {
      last = headers[name];
      delete headers[name];
    }
  }
  return last === undefined || last === null ? undefined : String(last).trim();
}

/** The hop's URL as follow-redirects writes it (`url.format(options)`): with `auth` as userinfo. */
function hrefWithAuth(url: URL, auth: string | undefined): string {
  if (!auth) return url.href;
  const withAuth = new URL(url);
  const colon = auth.indexOf(':');
  withAuth.username = colon < 0 ? auth : auth.slice(0, colon);
  withAuth.password = colon < 0 ? '' : auth.slice(colon + 1);
  return withAuth.href;
}

/** follow-redirects' options for a hop to `url` (its `spreadUrlObject`). */
function spread(url: URL): Record<string, unknown> {
  return {
    auth: undefined, // a WHATWG URL has no `auth`: follow-redirects drops it on every hop
    host: url.host,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    href: url.href,
    path: url.search ? url.pathname + url.search : url.pathname,
    pathname: url.pathname,
    port: url.port === '' ? '' : Number(url.port),
    protocol: url.protocol,
    query: undefined,
    search: url.search,
    hash: url.hash,
  };
}

/** The next hop after `options` went through the caller's `beforeRedirect` (follow-redirects' sanitising). */
function hopFrom(options: Record<string, unknown>, body: unknown): Hop {
  const protocol = String(options.protocol);
  if (protocol !== 'http:' && protocol !== 'https:') throw new TypeError(`Unsupported protocol ${protocol}`);
  let headers = options.headers as Record<string, unknown> | unknown[] | undefined;
  if (Array.isArray(headers)) {
    const list = headers;
    headers = {};
    for (let i = 0; i + 1 < list.length; i += 2) headers[String(list[i])] = list[i + 1];
  }
  const host = String(options.hostname || options.host);
  const port = options.port === '' || options.port === undefined ? '' : `:${options.port}`;
  const url = new URL(`${protocol}//${host.includes(':') ? `[${host}]` : host}${port}${options.path ?? '/'}`);
  url.username = '';
  url.password = '';
  return {
    url,
    method: String(options.method ?? 'GET').toUpperCase(),
    headers: headers ?? {},
    auth: options.auth ? String(options.auth) : undefined,
    body,
  };
}

/**
 * The hop after `hop` answered `status` with `location`; `count` is this redirect's number. Throws
 * follow-redirects' errors (the caller wraps them with `AxiosError.from`, as axios does).
 */
export function nextHop(
  hop: Hop,
  response: { status: number; location: string; headers: Record<string, unknown> },
  count: number,
  rules: RedirectRules,
): Hop {
  if (count > rules.maxRedirects)
    throw redirectError('ERR_FR_TOO_MANY_REDIRECTS', 'Maximum number of redirects exceeded');
  try {
    let headers: Record<string, unknown> = { ...hop.headers };
    const hostSent = Object.entries(headers).find(([n]) => n.toLowerCase() === 'host')?.[1];
    const requestHeaders = { Host: hostSent ?? hop.url.host, ...headers };
    const rewrite = redirectMethod(response.status, hop.method);
    let body = hop.body;
    if (rewrite.dropBody) {
      body = undefined;
      removeMatching(/^content-/i, headers);
    }
    const hostHeader = removeMatching(/^host$/i, headers);
    const current = hrefWithAuth(hop.url, hop.auth);
    let base = current;
    if (!/^\w+:/.test(response.location)) {
      const relativeTo = new URL(current);
      relativeTo.host = hostHeader || hop.url.host;
      base = relativeTo.href;
    }
    const next = new URL(response.location, base);
    const options: Record<string, unknown> = {
      method: rewrite.method,
      headers,
      maxRedirects: rules.maxRedirects,
      maxBodyLength: rules.maxBodyLength,
      sensitiveHeaders: [...rules.sensitive],
      ...spread(next),
    };
    // Another origin than the hop's (or than the URL follow-redirects reports): no credentials.
    if (next.origin !== hop.url.origin || next.origin !== new URL(base).origin) {
      headers = stripCredentialsOnCrossOrigin(headers, hop.url, next);
      if (rules.sensitive.length > 0)
        removeMatching(new RegExp(`^(?:${rules.sensitive.map(escapeRegex).join('|')})$`, 'i'), headers);
      options.headers = headers;
    }
    // axios's proxy step drops Proxy-Authorization on every hop (its adapter adds a proxy's own again).
    removeMatching(/^proxy-authorization$/i, options.headers as Record<string, unknown>);
    if (rules.auth !== undefined && next.origin === rules.firstOrigin) options.auth = rules.auth;
    rules.beforeRedirect?.(
      options,
      { headers: response.headers, statusCode: response.status },
      { url: base, method: hop.method, headers: requestHeaders },
    );
    return hopFrom(options, body);
  } catch (cause) {
    throw redirectError('ERR_FR_REDIRECTION_FAILURE', 'Redirected request failed', cause);
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[\^$\\.*+?()[\]{}|]/g, '\\$&');
}
