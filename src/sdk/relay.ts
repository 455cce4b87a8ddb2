/**
 * @module The SDK's one relay driver: every instrumented library (fetch's dispatcher, axios,
 * `wrapHttp`) hands `relayWith` its request and a thin transport adapter. Routing, the signed loop
 * (`GatewayClient.drive`), redirect tainting and failing open live here once.
 */
import type { GatewayTransport } from '../client/gateway-client.js';
import { isSphyrError, type SphyrError, SphyrPolicyError } from '../errors.js';
import { canonicalTargetUri } from '../policy/index.js';
import { routeFor, type SdkState, taint, warnFailOpen } from './state.js';

/** A library's adapter: how it sends a signed call to the gateway, and the request itself direct. */
export interface RelayTransport<R> extends GatewayTransport<R> {
  /** Send the request straight to its target: its route is direct, or the SDK is failing open. */
  direct(why: 'route' | 'fail-open'): Promise<R>;
}

export interface OutboundRequest {
  method: string;
  url: URL;
  /** The body, read only when the request is relayed (it is signed with its digest). */
  body(): Promise<Buffer>;
  headers?: Array<[string, string]>;
  /**
   * The caller's own abort, cancel and time limit, for the whole call (registration included). Once
   * it fires, nothing more is sent, relayed or direct; its reason is what the caller gets.
   */
  signal?: AbortSignal;
}

/** Go direct instead, where `failClosed: false` allows it, warning once; otherwise throw `why`. */
function failOpen<R>(
  state: SdkState,
  why: SphyrError,
  transport: RelayTransport<R>,
  signal: AbortSignal | undefined,
): Promise<R> {
  signal?.throwIfAborted(); // the caller gave up meanwhile: that, not the gateway, is the answer
  if (state.settings.failClosed) throw why;
  warnFailOpen(state, why);
  return transport.direct('fail-open');
}

/**
 * Send one request (or redirect hop) the way its route says: direct, refused, or signed and relayed
 * through the gateway. Only `gateway_unreachable` (nothing reached the gateway) may fail open; a
 * caller's own abort and a connection lost mid-request are thrown, never resent.
 */
export async function relayWith<R>(
  state: SdkState,
  request: OutboundRequest,
  transport: RelayTransport<R>,
): Promise<R> {
  const signal = request.signal;
  signal?.throwIfAborted();
  const route = routeFor(state, request.url);
  if (route === 'direct') return transport.direct('route');
  if (route === 'refuse')
    throw new SphyrPolicyError('scheme_not_allowed', `${request.url.protocol} requests are not sent`);
  const client = state.client;
  if (!client) return failOpen(state, state.settings.problem!, transport, signal);
  const call = {
    kind: 'relay' as const,
    method: request.method.toUpperCase(),
    path: '/v1/relay',
    body: await request.body(),
    headers: request.headers,
    targetUri: canonicalTargetUri(request.url),
    signal,
  };
  try {
    return await client.drive(call, transport, (head) => {
      // A hop a remote server chose never goes direct, whatever it looks like.
      const location = head.header('location');
      if (head.status >= 300 && head.status < 400 && location) taint(state, location, request.url);
    });
  } catch (error) {
    if (isSphyrError(error) && error.code === 'gateway_unreachable')
      return failOpen(state, error, transport, signal);
    throw error;
  }
}

/** Signed header pairs as one record (a repeated name becomes an array), for transports that want one. */
export function headerRecord(pairs: Iterable<[string, string]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}
