import type http from 'node:http';
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders, RequestOptions } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Writable } from 'node:stream';
import { unreachable } from '../client/gateway-client.js';
import { isSphyrError, SphyrConfigError, SphyrPolicyError } from '../errors.js';
import { currentState } from './auto-instrument.js';
import { prepareRelay } from './prepare-relay.js';
import { routeFor, type SdkState, taint, warnFailOpen } from './state.js';

type Callback = (res: IncomingMessage) => void;

/** `http.request`/`https.request` with the same calling forms, routed like fetch is. */
export interface WrappedHttp {
  request(url: string | URL, callback?: Callback): ClientRequest;
  request(url: string | URL, options: RequestOptions, callback?: Callback): ClientRequest;
  request(options: RequestOptions, callback?: Callback): ClientRequest;
  get(url: string | URL, callback?: Callback): ClientRequest;
  get(url: string | URL, options: RequestOptions, callback?: Callback): ClientRequest;
  get(options: RequestOptions, callback?: Callback): ClientRequest;
}

function targetUrl(module: typeof http, url: string | URL | RequestOptions, options: RequestOptions): URL {
  if (typeof url === 'string' || url instanceof URL) return new URL(url);
  const protocol = options.protocol ?? (module.globalAgent as { protocol?: string }).protocol ?? 'http:';
  const host = options.hostname ?? options.host ?? 'localhost';
  const port = options.port ? `:${options.port}` : '';
  return new URL(
    `${protocol}//${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}${port}${options.path ?? '/'}`,
  );
}

/**
 * A request whose body is gathered first (it is signed with its digest), then sent to the
 * gateway's relay on `end()`. It emits what a ClientRequest emits: `response`, `error`, `close`.
 */
class RelayedRequest extends Writable {
  readonly #chunks: Buffer[] = [];
  readonly #headers: OutgoingHttpHeaders;
  #inner: ClientRequest | undefined;

  constructor(
    private readonly state: SdkState,
    private readonly url: URL,
    private readonly method: string,
    headers: OutgoingHttpHeaders,
    private readonly direct: () => ClientRequest,
  ) {
    super();
    this.#headers = { ...headers };
  }

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.#headers[name.toLowerCase()] = value as string;
    return this;
  }

  getHeader(name: string): unknown {
    return this.#headers[name.toLowerCase()];
  }

  removeHeader(name: string): void {
    delete this.#headers[name.toLowerCase()];
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.#chunks.push(Buffer.from(chunk));
    done();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.#send(Buffer.concat(this.#chunks)).then(
      () => done(),
      (error) => done(error),
    );
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#inner?.destroy(error ?? undefined);
    done(error);
  }

  abort(): void {
    this.destroy();
  }

  async #send(body: Buffer, retried: { skew?: boolean; agent?: boolean } = {}): Promise<void> {
    const prepared = await prepareRelay(this.state, {
      method: this.method,
      url: this.url,
      body,
      headers: Object.entries(this.#headers).flatMap(([n, v]) =>
        v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => [n, String(x)] as [string, string]),
      ),
    });
    if (prepared === 'direct') return this.#goDirect(body);
    const client = this.state.client!;
    const headers: OutgoingHttpHeaders = { ...prepared.headers };
    headers['content-length'] = body.length;
    const send = prepared.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(prepared.url, { method: this.method, headers }, resolve);
      this.#inner = req;
      req.once('error', reject);
      req.end(body);
    }).catch((error) => {
      if (!this.state.settings.failClosed) return undefined;
      throw isSphyrError(error) ? error : unreachable(client.gatewayUrl, error);
    });
    if (!res) {
      warnFailOpen(this.state, 'the gateway is unreachable');
      return this.#goDirect(body);
    }
    const outcome = res.headers['sphyr-outcome'];
    if (outcome === 'allowed' || outcome === 'rate_limited') {
      const location = res.headers.location;
      if ((res.statusCode ?? 0) >= 300 && (res.statusCode ?? 0) < 400 && location)
        taint(this.state, location, this.url);
      this.emit('response', res);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
    const verdict = client.learnFrom(
      res.statusCode ?? 0,
      typeof outcome === 'string' ? outcome : null,
      Buffer.concat(chunks).toString('utf8'),
      res.headers.date ?? null,
    );
    if (verdict.retry && !retried[verdict.retry])
      return this.#send(body, { ...retried, [verdict.retry]: true });
    throw verdict.error;
  }

  #goDirect(body: Buffer): void {
    const req = this.direct();
    this.#inner = req;
    for (const [name, value] of Object.entries(this.#headers))
      if (value !== undefined) req.setHeader(name, value);
    req.once('response', (res) => this.emit('response', res));
    req.once('error', (error) => this.destroy(error));
    req.end(body);
  }
}

/**
 * Manual wrapping for Node's `http`/`https`, which `autoInstrument()` does not patch: requests made
 * with the returned `request`/`get` are routed, signed and screened like fetch. Needs
 * `autoInstrument()` (or the register entry) to be in force.
 *
 * @example
 * import https from 'node:https';
 * import { autoInstrument, wrapHttp } from '@sphyr/sdk';
 * autoInstrument();
 * const guarded = wrapHttp(https);
 * guarded.get('https://api.example.com/data', (res) => res.pipe(process.stdout));
 */
export function wrapHttp(module: typeof http): WrappedHttp {
  const request = (
    a: string | URL | RequestOptions,
    b?: RequestOptions | Callback,
    c?: Callback,
  ): ClientRequest => {
    const options = (
      typeof b === 'object' ? b : typeof a === 'object' && !(a instanceof URL) ? a : {}
    ) as RequestOptions;
    const callback = (typeof b === 'function' ? b : c) as Callback | undefined;
    const direct = () =>
      typeof a === 'string' || a instanceof URL
        ? module.request(a, options, callback)
        : module.request(options, callback);
    const state = currentState();
    if (!state?.active) {
      throw new SphyrConfigError(
        'not_instrumented',
        'wrapHttp(): call autoInstrument() first (or start node with --import @sphyr/sdk/register)',
      );
    }
    const url = targetUrl(module, a, options);
    const route = routeFor(state, url);
    if (route === 'direct') return direct();
    if (route === 'refuse')
      throw new SphyrPolicyError('scheme_not_allowed', `${url.protocol} requests are not sent`);
    const relayed = new RelayedRequest(
      state,
      url,
      (options.method ?? 'GET').toUpperCase(),
      { ...(options.headers as OutgoingHttpHeaders) },
      direct,
    );
    if (callback) relayed.once('response', callback);
    return relayed as unknown as ClientRequest;
  };
  const get = (
    a: string | URL | RequestOptions,
    b?: RequestOptions | Callback,
    c?: Callback,
  ): ClientRequest => {
    const req = request(a, b as RequestOptions, c);
    req.end();
    return req;
  };
  return { request, get } as WrappedHttp;
}
