import type { ResponseHead } from '../client/gateway-client.js';
import { SphyrPolicyError } from '../errors.js';
import { collectBody } from './body.js';
import { headerRecord, type RelayTransport, relayWith } from './relay.js';
import { isTainted, routeForOrigin, type SdkState } from './state.js';

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
      relay(state, dispatch, opts, handler, url).catch((error) => fail(handler, error));
      return true;
    };
}

/** What the relay transport settles with: the head, and for a refusal its body. */
interface Answer {
  head: ResponseHead;
  text: string;
}

/** fetch's adapter for the relay driver: each attempt is one dispatch, answered through fetch's handler. */
async function relay(
  state: SdkState,
  dispatch: Dispatch,
  opts: DispatchOptions,
  handler: DispatchHandler,
  url: URL,
): Promise<void> {
  let body: Buffer | undefined;
  let callerAborted = false;
  const transport: RelayTransport<Answer | undefined> = {
    send: (signed, decide) =>
      new Promise((resolve, reject) => {
        const gatewayOpts: DispatchOptions = {
          ...opts,
          origin: signed.url.origin,
          path: `${signed.url.pathname}${signed.url.search}`,
          headers: headerRecord(signed.headers),
          body: opts.method === 'GET' || opts.method === 'HEAD' ? null : body,
        };
        const onAbort = () => {
          callerAborted = true;
        };
        dispatch(gatewayOpts, relayHandler(handler, decide, resolve, reject, onAbort));
      }),
    head: (answer) => answer!.head,
    text: async (answer) => answer!.text,
    callerAborted: () => callerAborted,
    direct: async () => {
      dispatch(body === undefined ? opts : { ...opts, body }, handler);
      return undefined;
    },
  };
  await relayWith(
    state,
    {
      method: opts.method,
      url,
      body: async () => {
        body ??= await collectBody(opts.body);
        return body;
      },
      headers: headerPairs(opts.headers),
    },
    transport,
  );
}

/**
 * Wraps fetch's handler for one gateway attempt. A pass (`decide` says so when the head arrives)
 * streams on to fetch untouched; a refusal is collected and handed to the driver; an error before
 * any answer goes to the driver too, which tells the caller's own abort from a gateway failure.
 */
function relayHandler(
  inner: DispatchHandler,
  decide: (head: ResponseHead) => boolean,
  resolve: (answer: Answer) => void,
  reject: (error: unknown) => void,
  onCallerAbort: () => void,
): DispatchHandler {
  let passing = false;
  let refusal: { head: ResponseHead; chunks: Buffer[] } | undefined;
  const wrapper: DispatchHandler = {};
  wrapper.onConnect = (abort, context) => {
    // fetch aborts through this function: when it does, the error that follows is the caller's.
    const callerAbort = (reason?: Error) => {
      onCallerAbort();
      abort(reason);
    };
    inner.onConnect?.(callerAbort, context);
  };
  wrapper.onHeaders = (status, rawHeaders, resume, statusText) => {
    const head = { status, header: (name: string) => rawHeader(rawHeaders, name) };
    if (decide(head)) {
      passing = true;
      resolve({ head, text: '' });
      return inner.onHeaders?.(status, rawHeaders, resume, statusText) ?? true;
    }
    refusal = { head, chunks: [] };
    return true;
  };
  wrapper.onData = (chunk) => {
    if (passing) return inner.onData?.(chunk) ?? true;
    if (refusal && refusal.chunks.length < 64) refusal.chunks.push(Buffer.from(chunk));
    return true;
  };
  wrapper.onComplete = (trailers) => {
    if (passing) inner.onComplete?.(trailers);
    else if (refusal) resolve({ head: refusal.head, text: Buffer.concat(refusal.chunks).toString('utf8') });
    else reject(new Error('the gateway closed the response without a head'));
  };
  wrapper.onError = (error) => {
    if (passing) inner.onError?.(error);
    else reject(error);
  };
  // Everything else (onResponseStarted, onBodySent…) reaches fetch's handler as it is,
  // with `this` bound to it, so its own state stays in one object.
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in wrapper) return wrapper[prop];
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
