import { unreachable } from '../client/gateway-client.js';
import { isSphyrError, type SphyrError, SphyrPolicyError } from '../errors.js';
import { collectBody } from './body.js';
import { prepareRelay } from './prepare-relay.js';
import { isTainted, routeForOrigin, type SdkState, taint, warnFailOpen } from './state.js';

/** The legacy (undici 5/6) dispatch handler that Node 20's fetch passes down. */
export interface DispatchHandler {
  onConnect?(abort: (err?: Error) => void, context?: unknown): void;
  onHeaders?(
    status: number,
    rawHeaders: Buffer[] | string[],
    resume: () => void,
    statusText: string,
  ): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: unknown): void;
  onError?(error: Error): void;
  onResponseStarted?(): void;
  onBodySent?(chunk: unknown): void;
  [key: string]: unknown;
}

export interface DispatchOptions {
  origin?: string | URL;
  path: string;
  method: string;
  headers?: Record<string, string | string[] | undefined> | string[] | null;
  body?: unknown;
  [key: string]: unknown;
}

export type Dispatch = (opts: DispatchOptions, handler: DispatchHandler) => boolean;

const DROP = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'keep-alive']);

function headerPairs(headers: DispatchOptions['headers']): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!headers) return out;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) out.push([String(headers[i]), String(headers[i + 1])]);
  } else {
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) out.push([name, String(v)]);
    }
  }
  return out.filter(([name]) => !DROP.has(name.toLowerCase()));
}

function rawHeader(raw: Buffer[] | string[], name: string): string | null {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (String(raw[i]).toLowerCase() === name) return String(raw[i + 1]);
  }
  return null;
}

function fail(handler: DispatchHandler, error: unknown): void {
  queueMicrotask(() => handler.onError?.(error as Error));
}

/**
 * The undici interceptor: every dispatch below fetch (captured references and every redirect hop
 * included) is classified; instrumented ones are signed and sent to `/v1/relay`, direct ones pass.
 */
export function sphyrInterceptor(state: SdkState) {
  return (dispatch: Dispatch): Dispatch =>
    function sphyrDispatch(opts, handler) {
      if (!state.active) return dispatch(opts, handler);
      // Decided on the origin alone (cached), so a direct request costs a map lookup; the full URL
      // is built only when it is needed: to relay, or to check a tainted redirect hop.
      const route = routeForOrigin(state, String(opts.origin));
      if (route === 'direct' && state.tainted.size === 0) return dispatch(opts, handler);
      let url: URL;
      try {
        url = new URL(opts.path, opts.origin);
      } catch {
        fail(handler, new SphyrPolicyError('invalid_url', 'the request URL could not be parsed; not sent'));
        return true;
      }
      if (route === 'direct' && !isTainted(state, url.href)) return dispatch(opts, handler);
      if (route === 'refuse') {
        fail(handler, new SphyrPolicyError('scheme_not_allowed', `${url.protocol} requests are not sent`));
        return true;
      }
      relay(state, dispatch, opts, handler, url).catch((error) => fail(handler, error));
      return true;
    };
}

function failOpen(
  state: SdkState,
  dispatch: Dispatch,
  opts: DispatchOptions,
  handler: DispatchHandler,
  why: unknown,
) {
  warnFailOpen(state, why);
  return dispatch(opts, handler);
}

async function relay(
  state: SdkState,
  dispatch: Dispatch,
  opts: DispatchOptions,
  handler: DispatchHandler,
  url: URL,
  retried: { skew?: boolean; agent?: boolean } = {},
  collected?: Buffer,
): Promise<void> {
  const body = collected ?? (await collectBody(opts.body));
  const prepared = await prepareRelay(state, {
    method: opts.method,
    url,
    body,
    headers: headerPairs(opts.headers),
  });
  if (prepared === 'direct') {
    dispatch({ ...opts, body }, handler);
    return;
  }
  const headers = prepared.headers;
  const gatewayOpts: DispatchOptions = {
    ...opts,
    origin: prepared.url.origin,
    path: `${prepared.url.pathname}${prepared.url.search}`,
    headers,
    body: opts.method === 'GET' || opts.method === 'HEAD' ? null : body,
  };
  const retry = (kind: 'skew' | 'agent') =>
    relay(state, dispatch, opts, handler, url, { ...retried, [kind]: true }, body).catch((e) =>
      fail(handler, e),
    );
  dispatch(
    gatewayOpts,
    relayHandler(state, handler, url, retried, retry, () =>
      failOpen(state, dispatch, { ...opts, body }, handler, 'the gateway is unreachable'),
    ),
  );
}

/**
 * Wraps fetch's handler for a gateway answer: a pass (`Sphyr-Outcome: allowed` or `rate_limited`)
 * goes through untouched; a refusal becomes the matching error; a connection failure fails closed.
 */
function relayHandler(
  state: SdkState,
  inner: DispatchHandler,
  target: URL,
  retried: { skew?: boolean; agent?: boolean },
  retry: (kind: 'skew' | 'agent') => void,
  goDirect: () => void,
): DispatchHandler {
  let passing = false;
  let refusal: { status: number; outcome: string | null; date: string | null; chunks: Buffer[] } | undefined;
  const wrapper: DispatchHandler = {};
  wrapper.onHeaders = (status, rawHeaders, resume, statusText) => {
    const outcome = rawHeader(rawHeaders, 'sphyr-outcome');
    if (outcome === 'allowed' || outcome === 'rate_limited') {
      passing = true;
      const location = rawHeader(rawHeaders, 'location');
      if (status >= 300 && status < 400 && location) taint(state, location, target);
      return inner.onHeaders?.(status, rawHeaders, resume, statusText) ?? true;
    }
    refusal = { status, outcome, date: rawHeader(rawHeaders, 'date'), chunks: [] };
    return true;
  };
  wrapper.onData = (chunk) => {
    if (passing) return inner.onData?.(chunk) ?? true;
    if (refusal && refusal.chunks.length < 64) refusal.chunks.push(Buffer.from(chunk));
    return true;
  };
  wrapper.onComplete = (trailers) => {
    if (passing || !refusal) {
      inner.onComplete?.(trailers);
      return;
    }
    const text = Buffer.concat(refusal.chunks).toString('utf8');
    const verdict = state.client!.learnFrom(refusal.status, refusal.outcome, text, refusal.date, 'relay');
    if (verdict.retry && !retried[verdict.retry]) {
      retry(verdict.retry);
      return;
    }
    inner.onError?.(verdict.error as SphyrError);
  };
  wrapper.onError = (error) => {
    if (passing || refusal) {
      inner.onError?.(error);
      return;
    }
    if (!state.settings.failClosed) {
      goDirect();
      return;
    }
    inner.onError?.(isSphyrError(error) ? error : unreachable(state.settings.gatewayUrl ?? '', error));
  };
  // Everything else (onConnect, onResponseStarted, onBodySent…) reaches fetch's handler as it is,
  // with `this` bound to it, so its own state stays in one object.
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in wrapper) return wrapper[prop];
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
