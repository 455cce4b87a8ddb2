import { createRequire } from 'node:module';
import path from 'node:path';
import { unreachable } from '../client/gateway-client.js';
import { SphyrPolicyError, SphyrRequestError } from '../errors.js';
import { collectBody } from './body.js';
import { prepareRelay } from './prepare-relay.js';
import { routeFor, type SdkState, taint, warnFailOpen } from './state.js';

/** Marks our adapter, so an instance's config is never wrapped twice. */
const WRAPPED = Symbol.for('sphyr.axios.adapter');

type Config = Record<string, unknown> & {
  url?: string;
  method?: string;
  data?: unknown;
  headers?: unknown;
  maxRedirects?: number;
  validateStatus?: ((status: number) => boolean) | null;
  adapter?: unknown;
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
  AxiosError: new (
    message: string,
    code: string,
    config: Config,
    request: unknown,
    response: AxiosResponse,
  ) => Error;
}

/**
 * Every axios copy the application can load: the CommonJS build and the ESM build are separate
 * classes, so both are patched. Resolved from the working directory and the main script's folder.
 */
export function findAxiosCopies(roots: readonly string[]): AxiosLike[] {
  const found = new Map<unknown, AxiosLike>();
  for (const root of roots) {
    const req = createRequire(path.join(root, 'noop.js'));
    let dir: string;
    try {
      dir = path.dirname(req.resolve('axios/package.json'));
    } catch {
      continue;
    }
    for (const load of [() => req('axios'), () => req(path.join(dir, 'index.js'))]) {
      try {
        const mod = load() as { default?: AxiosLike } & AxiosLike;
        const ax = (mod.default ?? mod) as AxiosLike;
        if (typeof ax?.Axios?.prototype?._request === 'function') found.set(ax.Axios, ax);
      } catch {
        // Not loadable from here (an old Node without require(esm), or a broken install): skip it.
      }
    }
  }
  return [...found.values()];
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

function sphyrAdapter(ax: AxiosLike, state: SdkState, chosen: unknown): Adapter {
  const adapter: Adapter = async (config) => {
    const base = ax.getAdapter(chosen ?? ['xhr', 'http', 'fetch'], config);
    let url = new URL(ax.getUri(config));
    let method = (config.method ?? 'get').toUpperCase();
    let data = config.data;
    let headers = config.headers;
    const maxRedirects = config.maxRedirects ?? 21;
    // Each hop is our own request, never followed below us: a hop may need the gateway.
    const hopConfig = (over: Config): Config => ({
      ...config,
      baseURL: undefined,
      params: undefined,
      maxRedirects: 0,
      validateStatus: null,
      ...over,
    });
    for (let hop = 0; ; hop += 1) {
      const response = await send(ax, state, base, hopConfig, url, method, data, headers);
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
        // The fetch/follow-redirects rules: 303 always, 301/302 after POST, become a GET without a body.
        if (
          response.status === 303 ||
          ((response.status === 301 || response.status === 302) && method === 'POST')
        ) {
          method = 'GET';
          data = undefined;
        }
        if (next.origin !== url.origin) headers = withoutCredentials(headers);
        url = next;
        continue;
      }
      response.config = config;
      const validate = config.validateStatus;
      if (response.status && validate && !validate(response.status)) {
        throw new ax.AxiosError(
          `Request failed with status code ${response.status}`,
          response.status < 500 ? 'ERR_BAD_REQUEST' : 'ERR_BAD_RESPONSE',
          config,
          response.request,
          response,
        );
      }
      return response;
    }
  };
  adapter[WRAPPED] = true;
  return adapter;
}

function withoutCredentials(headers: unknown): unknown {
  const plain = { ...((headers as { toJSON?: () => object })?.toJSON?.() ?? (headers as object)) } as Record<
    string,
    unknown
  >;
  for (const name of Object.keys(plain)) {
    if (['authorization', 'cookie', 'proxy-authorization'].includes(name.toLowerCase())) delete plain[name];
  }
  return plain;
}

async function send(
  ax: AxiosLike,
  state: SdkState,
  base: Adapter,
  hopConfig: (over: Config) => Config,
  url: URL,
  method: string,
  data: unknown,
  headers: unknown,
  retried: { skew?: boolean; agent?: boolean } = {},
): Promise<AxiosResponse> {
  const route = routeFor(state, url);
  const direct = () => base(hopConfig({ url: url.href, method, data, headers }));
  if (route === 'direct') return direct();
  if (route === 'refuse')
    throw new SphyrPolicyError('scheme_not_allowed', `${url.protocol} requests are not sent`);
  const body = await bodyBytes(data);
  const prepared = await prepareRelay(state, { method, url, body });
  if (prepared === 'direct') return direct();
  const merged = { ...((headers as { toJSON?: () => object })?.toJSON?.() ?? (headers as object)) } as Record<
    string,
    unknown
  >;
  for (const name of Object.keys(merged)) if (name.toLowerCase() === 'content-length') delete merged[name];
  Object.assign(merged, prepared.headers);
  const client = state.client!;
  let response: AxiosResponse;
  try {
    response = await base(
      hopConfig({
        url: prepared.url.href,
        method,
        data: body.length ? body : undefined,
        headers: merged,
        proxy: false,
      }),
    );
  } catch (error) {
    if ((error as { response?: unknown }).response) throw error;
    if (state.settings.failClosed) throw unreachable(client.gatewayUrl, error);
    warnFailOpen(state, error);
    return direct();
  }
  const outcome = header(response, 'sphyr-outcome');
  if (outcome === 'allowed' || outcome === 'rate_limited') {
    const location = header(response, 'location');
    if (response.status >= 300 && response.status < 400 && location) taint(state, location, url);
    return response;
  }
  const verdict = client.learnFrom(
    response.status,
    outcome,
    await dataText(response.data),
    header(response, 'date'),
  );
  if (verdict.retry && !retried[verdict.retry]) {
    return send(ax, state, base, hopConfig, url, method, data, headers, {
      ...retried,
      [verdict.retry]: true,
    });
  }
  throw verdict.error;
}
