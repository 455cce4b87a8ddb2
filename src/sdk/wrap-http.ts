import type http from 'node:http';
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders, RequestOptions } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Writable } from 'node:stream';
import { SphyrConfigError, SphyrPolicyError } from '../errors.js';
import { currentState } from './auto-instrument.js';
import { sendingOurselves } from './axios-guard.js';
import { requestTarget } from './http-target.js';
import { headerRecord, type RelayTransport, relayWith } from './relay.js';
import { routeFor, type SdkState } from './state.js';

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

/** The error Node's own http gives when the caller's `signal` aborts a request. */
function abortError(reason: unknown): Error {
  return Object.assign(new Error('The operation was aborted', { cause: reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

function headValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * A request whose body is gathered first (it is signed with its digest), then sent to the
 * gateway's relay on `end()`. It emits what a ClientRequest emits: `response`, `error`, `close`,
 * `timeout`. The caller's `signal`, `timeout`, `destroy()` and `abort()` act as they do on http,
 * from the start: while the SDK registers and signs too, and nothing is sent after them.
 */
class RelayedRequest extends Writable {
  readonly #chunks: Buffer[] = [];
  readonly #headers: OutgoingHttpHeaders;
  readonly #signal: AbortSignal | undefined;
  /** Fires when the caller destroys, aborts or signals: the relay driver then sends nothing more. */
  readonly #cancel = new AbortController();
  #timeout: number | undefined;
  /** The idle timer before a request is on the wire (then the socket's own timeout takes over). */
  #idle: NodeJS.Timeout | undefined;
  #inner: ClientRequest | undefined;

  constructor(
    private readonly state: SdkState,
    private readonly url: URL,
    private readonly method: string,
    options: RequestOptions,
    private readonly direct: () => ClientRequest,
  ) {
    super();
    this.#headers = { ...(options.headers as OutgoingHttpHeaders) };
    this.#timeout = options.timeout;
    this.#armIdle();
    this.#signal = options.signal;
    if (this.#signal?.aborted) queueMicrotask(() => this.destroy(abortError(this.#signal?.reason)));
    this.#signal?.addEventListener('abort', () => this.destroy(abortError(this.#signal?.reason)), {
      once: true,
    });
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

  setTimeout(ms: number, callback?: () => void): this {
    this.#timeout = ms;
    if (callback) this.once('timeout', callback);
    if (this.#inner) this.#inner.setTimeout(ms);
    else this.#armIdle();
    return this;
  }

  /** Node's `timeout`: idle this long, emit 'timeout' (the caller decides what to do). */
  #armIdle(): void {
    clearTimeout(this.#idle);
    this.#idle = undefined;
    if (!this.#timeout || this.#inner || this.destroyed) return;
    this.#idle = setTimeout(() => this.emit('timeout'), this.#timeout);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.#chunks.push(Buffer.from(chunk));
    this.#armIdle();
    done();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.#send(Buffer.concat(this.#chunks)).then(
      () => done(),
      // Once destroyed, the caller has its error (or asked for none): the driver's stop is not news.
      (error) => done(this.destroyed ? undefined : error),
    );
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    clearTimeout(this.#idle);
    this.#cancel.abort(error ?? abortError(undefined));
    this.#inner?.destroy(error ?? undefined);
    done(error);
  }

  abort(): void {
    this.destroy();
  }

  /** Track the request now on the wire, so the caller's destroy() and timeout reach it. */
  #adopt(req: ClientRequest): ClientRequest {
    clearTimeout(this.#idle);
    this.#inner = req;
    if (this.#timeout !== undefined) req.setTimeout(this.#timeout, () => this.emit('timeout'));
    return req;
  }

  async #send(body: Buffer): Promise<void> {
    const transport: RelayTransport<IncomingMessage | undefined> = {
      send: ({ url, headers }) =>
        new Promise((resolve, reject) => {
          const record: OutgoingHttpHeaders = { ...headerRecord(headers), 'content-length': body.length };
          const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
          const req = this.#adopt(send(url, { method: this.method, headers: record }, resolve));
          req.once('error', reject);
          req.end(body);
        }),
      head: (res) => ({ status: res!.statusCode ?? 0, header: (name) => headValue(res!.headers[name]) }),
      text: async (res) => {
        const chunks: Buffer[] = [];
        for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
        return Buffer.concat(chunks).toString('utf8');
      },
      // The caller destroyed or aborted us: what the gateway connection says next is not news.
      callerAborted: () => this.destroyed,
      direct: async () => this.#goDirect(body),
    };
    const headers = Object.entries(this.#headers).flatMap(([n, v]) =>
      v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => [n, String(x)] as [string, string]),
    );
    const res = await relayWith(
      this.state,
      { method: this.method, url: this.url, body: async () => body, headers, signal: this.#cancel.signal },
      transport,
    );
    if (res && !this.destroyed) this.emit('response', res);
  }

  /** Send it ourselves, straight to the target; its events become ours. */
  #goDirect(body: Buffer): undefined {
    // On purpose (failing open): the guard below axios must not take it for an uninstrumented copy.
    const req = this.#adopt(sendingOurselves(this.direct));
    for (const [name, value] of Object.entries(this.#headers))
      if (value !== undefined) req.setHeader(name, value);
    req.once('response', (res) => this.emit('response', res));
    req.once('error', (error) => this.destroy(error));
    req.end(body);
    return undefined;
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
    const direct = (cb?: Callback) =>
      typeof a === 'string' || a instanceof URL
        ? module.request(a, options, cb)
        : module.request(options, cb);
    const state = currentState();
    if (!state?.active) {
      throw new SphyrConfigError(
        'not_instrumented',
        'wrapHttp(): call autoInstrument() first (or start node with --import @sphyr/sdk/register)',
      );
    }
    const url = requestTarget(
      (module.globalAgent as { protocol?: string }).protocol ?? 'http:',
      typeof a === 'string' || a instanceof URL ? a : options,
    );
    const route = routeFor(state, url);
    if (route === 'direct') return direct(callback);
    if (route === 'refuse')
      throw new SphyrPolicyError('scheme_not_allowed', `${url.protocol} requests are not sent`);
    // Failing open, the relayed request sends itself direct and re-emits the response to `callback`.
    const relayed = new RelayedRequest(state, url, (options.method ?? 'GET').toUpperCase(), options, () =>
      direct(),
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
