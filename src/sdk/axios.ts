/**
 * @module axios: the adapter that sends each request (and each redirect hop, followed here) through
 * the SDK's relay driver, and the patch that puts it on every instance of one axios copy. Which
 * copies get patched is `axios-copies.ts`'s job.
 */
import { redirectMethod, stripCredentialsOnCrossOrigin } from '../client/redirect.js';
import { SphyrRequestError } from '../errors.js';
import { sendingOurselves } from './axios-guard.js';
import { CallerLimits } from './axios-limits.js';
import { collectBody } from './body.js';
import { headerRecord, type RelayTransport, relayWith } from './relay.js';
import type { SdkState } from './state.js';

/** Marks our adapter, so an instance's config is never wrapped twice. */
const WRAPPED = Symbol.for('sphyr.axios.adapter');

export type Config = Record<string, unknown> & {
  url?: string;
  method?: string;
  data?: unknown;
  headers?: unknown;
  auth?: unknown;
  maxRedirects?: number;
  validateStatus?: ((status: number) => boolean) | null;
  adapter?: unknown;
  signal?: { aborted?: boolean };
  cancelToken?: {
    subscribe(listener: (reason: unknown) => void): void;
    unsubscribe(listener: unknown): void;
  };
  timeout?: number | string;
  timeoutErrorMessage?: string;
  transitional?: { clarifyTimeoutError?: boolean };
};
type Adapter = ((config: Config) => Promise<AxiosResponse>) & { [WRAPPED]?: true };
interface AxiosResponse {
  status: number;
  statusText: string;
  headers: Record<string, unknown> & { get?(name: string): unknown };
  data: unknown;
  config: Config;
  request?: unknown;
}

/** The parts of an axios copy we use (axios ≥ 1.6.7 has all of them). */
export interface AxiosLike {
  Axios: { prototype: { _request?: (this: { defaults: Config }, a: unknown, b?: unknown) => unknown } };
  getAdapter(adapters: unknown, config?: Config): Adapter;
  getUri(config: Config): string;
  isCancel(value: unknown): boolean;
  CanceledError: new (message: string | null, config?: Config, request?: unknown) => Error;
  AxiosError: new (
    message: string,
    code: string,
    config: Config,
    request?: unknown,
    response?: AxiosResponse,
  ) => Error;
}

/** Route every request of this axios copy, instances made earlier included, through `state`. */
export function patchAxios(ax: AxiosLike, state: SdkState): () => void {
  const proto = ax.Axios.prototype;
  const original = proto._request as NonNullable<typeof proto._request>;
  proto._request = function sphyrRequest(configOrUrl: unknown, config?: unknown) {
    if (!state.active) return original.call(this, configOrUrl, config);
    const c: Config =
      typeof configOrUrl === 'string'
        ? { ...((config as Config) ?? {}), url: configOrUrl }
        : { ...((configOrUrl as Config) ?? {}) };
    const chosen = (c.adapter ?? this.defaults.adapter) as Adapter | undefined;
    if (!chosen?.[WRAPPED]) c.adapter = sphyrAdapter(ax, state, chosen);
    return original.call(this, c);
  };
  return () => {
    if (proto._request !== original) proto._request = original;
  };
}

function header(res: AxiosResponse, name: string): string | null {
  const value = typeof res.headers?.get === 'function' ? res.headers.get(name) : res.headers?.[name];
  return value === undefined || value === null ? null : String(value);
}

async function dataText(data: unknown): Promise<string> {
  if (typeof data === 'string') return data;
  if (data instanceof Uint8Array) return Buffer.from(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  if (data && typeof data === 'object' && Symbol.asyncIterator in data)
    return (await collectBody(data)).toString('utf8');
  return data === undefined || data === null ? '' : JSON.stringify(data);
}

async function bodyBytes(data: unknown): Promise<Buffer> {
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    return await collectBody(data);
  } catch {
    throw new SphyrRequestError(
      'body_unsupported',
      'axios request bodies must be a string, Buffer, typed array or stream to be signed; serialise FormData first',
    );
  }
}

/** axios headers (AxiosHeaders or a record) as a plain record. */
function plainHeaders(headers: unknown): Record<string, unknown> {
  const h = headers as { toJSON?: () => Record<string, unknown> } | undefined;
  return { ...(typeof h?.toJSON === 'function' ? h.toJSON() : (h as Record<string, unknown>)) };
}

function headerPairs(headers: unknown): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(plainHeaders(headers))) {
    if (value === undefined || value === null || value === false) continue;
    for (const v of Array.isArray(value) ? value : [value]) pairs.push([name, String(v)]);
  }
  return pairs;
}

/** axios's own timeout or the caller's cancellation (signal or CancelToken). */
function callerAborted(ax: AxiosLike, config: Config, error: unknown): boolean {
  const e = error as { isAxiosError?: boolean; code?: string };
  if (ax.isCancel(error) || config.signal?.aborted) return true;
  if (e?.isAxiosError !== true) return false;
  return (
    e.code === 'ECONNABORTED' || (e.code === 'ETIMEDOUT' && config.transitional?.clarifyTimeoutError === true)
  );
}

/** An axios error from a hop, shown with the caller's config, as plain axios would show it. */
function asCallers(error: unknown, config: Config): unknown {
  const e = error as { isAxiosError?: boolean; config?: Config; response?: { config?: Config } };
  if (e?.isAxiosError) {
    e.config = config;
    if (e.response) e.response.config = config;
  }
  return error;
}

function sphyrAdapter(ax: AxiosLike, state: SdkState, chosen: unknown): Adapter {
  const adapter: Adapter = async (config) => {
    const limits = new CallerLimits(ax, config);
    try {
      return await follow(ax, state, chosen, config, limits);
    } catch (error) {
      throw limits.reasonOr(error);
    } finally {
      limits.done();
    }
  };
  adapter[WRAPPED] = true;
  return adapter;
}

/** The call, hop by hop: each hop relayed or direct as its own route says, redirects followed here. */
async function follow(
  ax: AxiosLike,
  state: SdkState,
  chosen: unknown,
  config: Config,
  limits: CallerLimits,
): Promise<AxiosResponse> {
  const base = ax.getAdapter(chosen ?? ['xhr', 'http', 'fetch'], config);
  const timeoutErrorMessage = config.timeoutErrorMessage || `timeout of ${config.timeout}ms exceeded`;
  let url = new URL(ax.getUri(config));
  let method = (config.method ?? 'get').toUpperCase();
  let data = config.data;
  let headers = config.headers;
  let auth = config.auth;
  const maxRedirects = config.maxRedirects ?? 21;
  for (let hop = 0; ; hop += 1) {
    // Each hop is our own request, never followed below us: a hop may need the gateway.
    const hopConfig: Config = {
      ...config,
      baseURL: undefined,
      params: undefined,
      url: url.href,
      method,
      data,
      headers,
      auth,
      maxRedirects: 0,
      validateStatus: null,
      // The caller's limits, as one signal over the whole call; on the wire, what is left of the time.
      signal: limits.signal,
      cancelToken: undefined,
      timeout: limits.hopTimeout() ?? config.timeout,
      timeoutErrorMessage,
    };
    let response: AxiosResponse;
    try {
      response = await send(ax, state, (c) => limits.onWire(() => base(c)), hopConfig, url);
    } catch (error) {
      throw asCallers(error, config);
    }
    const location = header(response, 'location');
    if (response.status >= 300 && response.status < 400 && location && maxRedirects > 0) {
      if (hop >= maxRedirects) {
        throw new ax.AxiosError(
          'Maximum number of redirects exceeded',
          'ERR_FR_TOO_MANY_REDIRECTS',
          config,
          response.request,
          response,
        );
      }
      const next = new URL(location, url);
      const rewrite = redirectMethod(response.status, method);
      method = rewrite.method;
      if (rewrite.dropBody) {
        data = undefined;
        headers = Object.fromEntries(
          Object.entries(plainHeaders(headers)).filter(([n]) => !/^content-/i.test(n)),
        );
      }
      if (next.origin !== url.origin) {
        headers = stripCredentialsOnCrossOrigin(plainHeaders(headers), url, next);
        auth = undefined; // axios turns `auth` into an Authorization header on every request
      }
      url = next;
      continue;
    }
    response.config = config;
    // What axios's own settle() does with the caller's validateStatus.
    const validate = config.validateStatus;
    if (response.status && validate && !validate(response.status)) {
      throw new ax.AxiosError(
        `Request failed with status code ${response.status}`,
        response.status >= 400 && response.status < 500 ? 'ERR_BAD_REQUEST' : 'ERR_BAD_RESPONSE',
        config,
        response.request,
        response,
      );
    }
    return response;
  }
}

/** One hop through the relay driver, with axios's own adapter as the transport. */
function send(ax: AxiosLike, state: SdkState, base: Adapter, hop: Config, url: URL): Promise<AxiosResponse> {
  let body: Buffer | undefined;
  const transport: RelayTransport<AxiosResponse> = {
    send: (signed) =>
      base({
        ...hop,
        url: signed.url.href,
        auth: undefined, // already among the signed headers
        data: body?.length ? body : undefined,
        headers: headerRecord(signed.headers),
        proxy: false, // the gateway hop never takes HTTP(S)_PROXY from the environment
      }),
    head: (res) => ({ status: res.status, header: (name) => header(res, name) }),
    text: (res) => dataText(res.data),
    callerAborted: (error) => callerAborted(ax, hop, error),
    direct: (why) => {
      const go = () => base(body === undefined ? hop : { ...hop, data: body });
      // Failing open, this copy sends direct on purpose: the guard below axios must not take it for
      // an uninstrumented copy. (A direct route needs no mark: the guard lets direct routes pass.)
      return why === 'fail-open' ? sendingOurselves(go) : go();
    },
  };
  return relayWith(
    state,
    {
      method: hop.method ?? 'GET',
      url,
      signal: hop.signal as AbortSignal,
      body: async () => {
        body ??= await bodyBytes(hop.data);
        return body;
      },
      headers: withAuth(headerPairs(hop.headers), hop.auth),
    },
    transport,
  );
}

/** The headers with the Authorization axios's http adapter builds from `auth` (which wins, as in axios). */
function withAuth(pairs: Array<[string, string]>, auth: unknown): Array<[string, string]> {
  const a = auth as { username?: string; password?: string } | undefined;
  if (!a || (a.username === undefined && a.password === undefined)) return pairs;
  const token = Buffer.from(`${a.username ?? ''}:${a.password ?? ''}`).toString('base64');
  return [
    ...pairs.filter(([name]) => name.toLowerCase() !== 'authorization'),
    ['authorization', `Basic ${token}`],
  ];
}
