/**
 * @module axios: the adapter that sends each request (and each redirect hop, followed here) through
 * the SDK's relay driver, and the patch that puts it on every instance of one axios copy. Which
 * copies get patched is `axios-copies.ts`'s job.
 */
import { SphyrRequestError } from '../errors.js';
import { sendingOurselves } from './axios-guard.js';
import { CallerLimits } from './axios-limits.js';
import { type Hop, nextHop, type RedirectRules } from './axios-redirect.js';
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
  maxBodyLength?: number;
  sensitiveHeaders?: unknown;
  beforeRedirect?: unknown;
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
  AxiosError: (new (
    message: string,
    code: string,
    config: Config,
    request?: unknown,
    response?: AxiosResponse,
  ) => Error) & {
    from?(error: unknown, code: string | null, config: Config, request?: unknown): Error;
  };
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

/** A Node stream we can read to the end (a Readable, not an old-style stream like form-data's). */
function isModernStream(data: unknown): boolean {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { pipe?: unknown }).pipe === 'function' &&
    Symbol.asyncIterator in data
  );
}

/** The body as bytes (to sign it, or to send it again on a redirect), within axios's `maxBodyLength`. */
async function bodyBytes(
  ax: AxiosLike,
  config: Config,
  data: unknown,
  limit = Number.POSITIVE_INFINITY,
): Promise<Buffer> {
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let bytes: Buffer;
  try {
    bytes = await collectBody(data, limit);
  } catch (error) {
    if (error instanceof RangeError)
      throw new ax.AxiosError('Request body larger than maxBodyLength limit', 'ERR_BAD_REQUEST', config);
    throw new SphyrRequestError(
      'body_unsupported',
      'axios request bodies must be a string, Buffer, typed array or stream to be signed; serialise FormData first',
    );
  }
  return bytes;
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
  const onWire: Adapter = (c) => limits.onWire(() => base(c));
  let hop = firstHop(ax, config);
  const rules = redirectRules(ax, config, hop);
  // A streamed body is sent again on a 307/308, as follow-redirects keeps it: read it once.
  if (rules && isModernStream(hop.body))
    hop.body = await bodyBytes(ax, config, hop.body, rules.maxBodyLength);
  for (let count = 1; ; count += 1) {
    let response: AxiosResponse;
    try {
      response = await send(ax, state, onWire, hopConfig(config, hop, limits), hop.url);
    } catch (error) {
      throw asCallers(error, config);
    }
    const location = header(response, 'location');
    if (rules && location && response.status >= 300 && response.status < 400) {
      (response.data as { destroy?: () => void } | undefined)?.destroy?.();
      try {
        hop = nextHop(
          hop,
          { status: response.status, location, headers: plainHeaders(response.headers) },
          count,
          rules,
        );
      } catch (error) {
        // As axios reports follow-redirects' errors: AxiosError.from(error, null, config, request).
        throw typeof ax.AxiosError.from === 'function'
          ? ax.AxiosError.from(error, null, config, response.request)
          : error;
      }
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

/** The first hop, as axios's http adapter builds it: `auth` (or the URL's userinfo) beats an Authorization header. */
function firstHop(ax: AxiosLike, config: Config): Hop {
  const url = new URL(ax.getUri(config));
  const given = config.auth as { username?: string; password?: string } | undefined;
  let auth = given ? `${given.username || ''}:${given.password || ''}` : undefined;
  if (!auth && (url.username || url.password)) auth = `${decode(url.username)}:${decode(url.password)}`;
  url.username = '';
  url.password = '';
  const headers = plainHeaders(config.headers);
  if (auth)
    for (const name of Object.keys(headers)) if (name.toLowerCase() === 'authorization') delete headers[name];
  return { url, method: (config.method ?? 'get').toUpperCase(), headers, auth, body: config.data };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** How this call follows redirects (as axios configures follow-redirects); undefined: `maxRedirects: 0`. */
function redirectRules(ax: AxiosLike, config: Config, first: Hop): RedirectRules | undefined {
  if (config.maxRedirects === 0) return undefined;
  const sensitive = config.sensitiveHeaders;
  if (
    sensitive !== undefined &&
    sensitive !== null &&
    (!Array.isArray(sensitive) || sensitive.some((h) => typeof h !== 'string'))
  ) {
    throw new ax.AxiosError('sensitiveHeaders must be an array of strings', 'ERR_BAD_OPTION_VALUE', config);
  }
  const maxBodyLength = Number(config.maxBodyLength ?? -1);
  return {
    maxRedirects: config.maxRedirects || 21,
    maxBodyLength: maxBodyLength > -1 ? maxBodyLength : Number.POSITIVE_INFINITY,
    sensitive: [...new Set(((sensitive as string[] | undefined) ?? []).map((h) => h.toLowerCase()))],
    firstOrigin: first.url.origin,
    auth: first.auth,
    beforeRedirect:
      typeof config.beforeRedirect === 'function'
        ? (config.beforeRedirect as RedirectRules['beforeRedirect'])
        : undefined,
  };
}

/** The config for one hop: our own request, never followed below us (a hop may need the gateway). */
function hopConfig(config: Config, hop: Hop, limits: CallerLimits): Config {
  const headers = { ...hop.headers };
  // Node's rule for `options.auth`: Basic credentials, unless an Authorization header is already set.
  if (hop.auth !== undefined && !Object.keys(headers).some((n) => n.toLowerCase() === 'authorization'))
    headers.authorization = `Basic ${Buffer.from(hop.auth).toString('base64')}`;
  return {
    ...config,
    baseURL: undefined,
    params: undefined,
    url: hop.url.href,
    method: hop.method,
    data: hop.body,
    headers,
    auth: undefined,
    maxRedirects: 0,
    beforeRedirect: undefined,
    validateStatus: null,
    // The caller's limits, as one signal over the whole call; on the wire, what is left of the time.
    signal: limits.signal,
    cancelToken: undefined,
    timeout: limits.hopTimeout() ?? config.timeout,
    ...(config.timeout
      ? { timeoutErrorMessage: config.timeoutErrorMessage || `timeout of ${config.timeout}ms exceeded` }
      : {}),
  };
}

/** One hop through the relay driver, with axios's own adapter as the transport. */
function send(ax: AxiosLike, state: SdkState, base: Adapter, wire: Config, url: URL): Promise<AxiosResponse> {
  let body: Buffer | undefined;
  const transport: RelayTransport<AxiosResponse> = {
    send: (signed) =>
      base({
        ...wire,
        url: signed.url.href,
        data: body?.length ? body : undefined,
        headers: headerRecord(signed.headers),
        proxy: false, // the gateway hop never takes HTTP(S)_PROXY from the environment
      }),
    head: (res) => ({ status: res.status, header: (name) => header(res, name) }),
    text: (res) => dataText(res.data),
    callerAborted: (error) => callerAborted(ax, wire, error),
    direct: (why) => {
      const go = () => base(body === undefined ? wire : { ...wire, data: body });
      // Failing open, this copy sends direct on purpose: the guard below axios must not take it for
      // an uninstrumented copy. (A direct route needs no mark: the guard lets direct routes pass.)
      return why === 'fail-open' ? sendingOurselves(go) : go();
    },
  };
  return relayWith(
    state,
    {
      method: wire.method ?? 'GET',
      url,
      signal: wire.signal as AbortSignal,
      body: async () => {
        body ??= await bodyBytes(ax, wire, wire.data);
        return body;
      },
      headers: headerPairs(wire.headers),
    },
    transport,
  );
}
