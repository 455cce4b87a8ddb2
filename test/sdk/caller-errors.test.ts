// Issue 11, item 12: a caller's own timeout or abort is the library's own error, never
// "gateway unreachable", and never a reason to send the request again direct. Status errors carry the
// codes plain axios gives. Real gateway, real slow target, both on loopback.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import axios, { type AxiosRequestConfig } from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { isSphyrError } from '../../src/errors.js';
import { autoInstrument, type Instrumentation, wrapHttp } from '../../src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

/** A target that logs each request on arrival and answers only when the test ends. */
interface SlowTarget {
  url: string;
  seen: string[];
  /** Resolves when the target has received a request for `path`. */
  received(path: string): Promise<void>;
  close(): Promise<void>;
}

async function startSlowTarget(): Promise<SlowTarget> {
  const seen: string[] = [];
  const waiters: Array<{ path: string; resolve: () => void }> = [];
  const server = http.createServer((req) => {
    seen.push(req.url ?? '');
    for (const w of waiters.filter((w) => w.path === req.url)) w.resolve();
    req.resume(); // no answer: the caller's own limit must end the wait
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    received: (path) =>
      seen.includes(path) ? Promise.resolve() : new Promise((resolve) => waiters.push({ path, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP relay in front of the gateway whose connections the test can cut mid-request. */
async function startCuttableProxy(
  port: () => number,
): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(port(), '127.0.0.1');
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}

let gw: TestGateway;
let slow: SlowTarget;
let target: TargetServer;
let handle: Instrumentation | undefined;

beforeAll(async () => {
  gw = await startTestGateway();
  slow = await startSlowTarget();
  target = await startTarget();
});

afterAll(async () => {
  await slow?.close();
  await target?.close();
  await gw?.close();
});

afterEach(() => {
  handle?.restore();
  handle = undefined;
});

function instrument(extra: Parameters<typeof autoInstrument>[0] = {}): Instrumentation {
  handle = autoInstrument({
    gatewayUrl: gw.gateway.url,
    credential: gw.credential,
    instrumentHosts: ['127.0.0.1'], // the targets are local: send them through the gateway anyway
    agentName: 'caller-errors',
    warn: () => {},
    ...extra,
  });
  return handle;
}

/** What a caller can tell about an error: the fields axios users branch on. */
function shape(error: unknown) {
  const e = error as {
    name: string;
    code?: string;
    message: string;
    isAxiosError?: boolean;
    status?: number;
    config?: { url?: string };
    response?: { status: number; config?: { url?: string } };
  };
  return {
    name: e.name,
    code: e.code,
    message: e.message,
    isAxiosError: e.isAxiosError,
    sphyr: isSphyrError(error),
    status: e.status,
    configUrl: e.config?.url,
    responseStatus: e.response?.status,
    responseConfigUrl: e.response?.config?.url,
  };
}

/** The same call made by plain axios (not instrumented) and under autoInstrument(), relayed. */
async function plainAndRelayed(make: (tag: string) => Promise<unknown>) {
  const plain = await make('plain').catch((e: unknown) => e);
  instrument();
  const relayed = await make('relayed').catch((e: unknown) => e);
  return { plain: shape(plain), relayed: shape(relayed) };
}

async function recordsAfter(seq: number) {
  return (await gw.gateway.store.query({ limit: 50 })).filter((r) => r.seq > seq);
}

async function lastSeq(): Promise<number> {
  return (await gw.gateway.store.query({ limit: 1 }))[0]?.seq ?? 0;
}

describe('axios under autoInstrument(): the caller keeps its own errors', () => {
  it('a timeout on a slow target is axios ECONNABORTED, after the target received the request', async () => {
    instrument();
    const url = `${slow.url}/axios-timeout`;
    const error = await axios.get(url, { timeout: 300 }).catch((e: unknown) => e);
    expect(slow.seen).toContain('/axios-timeout'); // the gateway relayed it: not "unreachable"
    expect(shape(error)).toMatchObject({
      name: 'AxiosError',
      code: 'ECONNABORTED',
      message: 'timeout of 300ms exceeded',
      isAxiosError: true,
      sphyr: false,
      configUrl: url, // the caller's config, not the gateway hop's
    });
  });

  it('the timeout error is the one plain axios gives', async () => {
    const { plain, relayed } = await plainAndRelayed((tag) =>
      axios.get(`${slow.url}/same-timeout`, { timeout: 250, params: { tag } }),
    );
    expect(relayed).toEqual(plain);
    expect(plain.code).toBe('ECONNABORTED');
  });

  it('an AbortController abort is axios ERR_CANCELED (CanceledError), as plain axios gives', async () => {
    const abortAfterArrival = async (tag: string) => {
      const controller = new AbortController();
      const path = `/axios-abort?tag=${tag}`;
      const pending = axios.get(`${slow.url}${path}`, { signal: controller.signal });
      await slow.received(path);
      controller.abort();
      return pending;
    };
    const { plain, relayed } = await plainAndRelayed(abortAfterArrival);
    expect(relayed).toEqual({ ...plain, configUrl: relayed.configUrl });
    expect(relayed).toMatchObject({ name: 'CanceledError', code: 'ERR_CANCELED', isAxiosError: true });
    expect(relayed.configUrl).toBe(`${slow.url}/axios-abort?tag=relayed`);
  });

  it('status errors carry the codes plain axios gives: 404, 500 and a 302 with maxRedirects: 0', async () => {
    const cases: Array<[string, AxiosRequestConfig]> = [
      ['/status/404', {}],
      ['/status/500', {}],
      ['/redirect?to=%2Fecho', { maxRedirects: 0 }],
    ];
    const plain = [];
    for (const [path, config] of cases)
      plain.push(shape(await axios.get(`${target.url}${path}`, config).catch((e) => e)));
    instrument();
    const before = await lastSeq();
    const relayed = [];
    for (const [path, config] of cases)
      relayed.push(shape(await axios.get(`${target.url}${path}`, config).catch((e) => e)));
    expect(relayed).toEqual(plain);
    expect(plain.map((p) => p.code)).toEqual(['ERR_BAD_REQUEST', 'ERR_BAD_RESPONSE', 'ERR_BAD_RESPONSE']);
    expect(await recordsAfter(before)).toHaveLength(3); // all three were relayed
  });

  it('with failClosed: false, an aborted request is not sent again direct', async () => {
    instrument({ failClosed: false });
    const controller = new AbortController();
    const path = '/axios-abort-fail-open';
    const pending = axios.get(`${slow.url}${path}`, { signal: controller.signal }).catch((e) => e);
    await slow.received(path);
    controller.abort();
    expect(shape(await pending)).toMatchObject({ code: 'ERR_CANCELED' });
    await new Promise((r) => setTimeout(r, 300)); // room for a wrongful second attempt to arrive
    expect(slow.seen.filter((p) => p === path)).toHaveLength(1);
  });
});

describe('fetch under autoInstrument(): the caller keeps its own errors', () => {
  it('AbortSignal.timeout is TimeoutError and abort() is AbortError, after the target received them', async () => {
    instrument();
    const timedOut = await fetch(`${slow.url}/fetch-timeout`, { signal: AbortSignal.timeout(300) }).catch(
      (e) => e,
    );
    expect(slow.seen).toContain('/fetch-timeout');
    expect({ name: timedOut.name, sphyr: isSphyrError(timedOut) }).toEqual({
      name: 'TimeoutError',
      sphyr: false,
    });
    const controller = new AbortController();
    const pending = fetch(`${slow.url}/fetch-abort`, { signal: controller.signal }).catch((e) => e);
    await slow.received('/fetch-abort');
    controller.abort();
    const aborted = await pending;
    expect({ name: aborted.name, sphyr: isSphyrError(aborted) }).toEqual({
      name: 'AbortError',
      sphyr: false,
    });
  });

  it('with failClosed: false, an aborted fetch is not sent again direct', async () => {
    instrument({ failClosed: false });
    const controller = new AbortController();
    const pending = fetch(`${slow.url}/fetch-abort-fail-open`, { signal: controller.signal }).catch((e) => e);
    await slow.received('/fetch-abort-fail-open');
    controller.abort();
    expect((await pending).name).toBe('AbortError');
    await new Promise((r) => setTimeout(r, 300));
    expect(slow.seen.filter((p) => p === '/fetch-abort-fail-open')).toHaveLength(1);
  });
});

describe('wrapHttp under autoInstrument(): the caller keeps its own errors', () => {
  it("an aborted request (the caller's signal) is AbortError and is not sent again direct", async () => {
    instrument({ failClosed: false });
    const controller = new AbortController();
    const path = '/http-abort';
    const error = new Promise<Error>((resolve) => {
      const req = wrapHttp(http).request(`${slow.url}${path}`, { signal: controller.signal }, () => {});
      req.on('error', resolve);
      req.end();
    });
    await slow.received(path);
    controller.abort();
    expect(shape(await error)).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', sphyr: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(slow.seen.filter((p) => p === path)).toHaveLength(1);
  });

  it('a request the caller destroys is not sent again direct', async () => {
    instrument({ failClosed: false });
    const path = '/http-destroy';
    const req = wrapHttp(http).request(`${slow.url}${path}`, () => {});
    req.on('error', () => {});
    req.end();
    await slow.received(path);
    req.destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect(slow.seen.filter((p) => p === path)).toHaveLength(1);
  });
});

describe('a connection to the gateway that breaks after the request was sent', () => {
  // The target may have the request: that is not "gateway unreachable … nothing was sent to the
  // target", and with failClosed: false it must not be sent a second time, direct.
  let proxy: Awaited<ReturnType<typeof startCuttableProxy>>;
  // A gateway behind the proxy knows the proxy's URL as its public one: the SDK signs for that authority.
  let behind: TestGateway;
  beforeAll(async () => {
    proxy = await startCuttableProxy(() => behind.gateway.port);
    behind = await startTestGateway(undefined, { publicUrl: proxy.url });
  });
  afterAll(async () => {
    await proxy?.close();
    await behind?.close();
  });

  function viaProxy(): Instrumentation {
    handle = autoInstrument({
      gatewayUrl: proxy.url,
      credential: behind.credential,
      instrumentHosts: ['127.0.0.1'],
      failClosed: false,
      warn: () => {},
    });
    return handle;
  }

  async function cutWhenReceived<T>(path: string, call: () => Promise<T>) {
    const pending = call().catch((e: unknown) => e);
    // If the call ends before the target has it, the cut below finds nothing to cut: the test fails.
    await Promise.race([slow.received(path), pending]);
    proxy.cut();
    // A request sent again direct would hang on this target: bound the wait, and say so.
    const error = await Promise.race([
      pending,
      new Promise((r) => setTimeout(() => r(new Error('still waiting: sent again, direct?')), 3000)),
    ]);
    await new Promise((r) => setTimeout(r, 300)); // room for a wrongful direct attempt to arrive
    return { error: shape(error), times: slow.seen.filter((p) => p === path).length };
  }

  it('fetch: SphyrNetworkError gateway_connection_lost, sent once', async () => {
    viaProxy();
    const result = await cutWhenReceived('/cut-fetch', () => fetch(`${slow.url}/cut-fetch`));
    expect(result).toMatchObject({
      error: { name: 'SphyrNetworkError', code: 'gateway_connection_lost', sphyr: true },
      times: 1,
    });
    expect(result.error.message).toContain('may have received');
  });

  it('axios: SphyrNetworkError gateway_connection_lost, sent once', async () => {
    viaProxy();
    const result = await cutWhenReceived('/cut-axios', () => axios.get(`${slow.url}/cut-axios`));
    expect(result).toMatchObject({ error: { code: 'gateway_connection_lost', sphyr: true }, times: 1 });
  });

  it('wrapHttp: SphyrNetworkError gateway_connection_lost, sent once', async () => {
    viaProxy();
    const result = await cutWhenReceived(
      '/cut-http',
      () =>
        new Promise((_resolve, reject) => {
          const req = wrapHttp(http).request(`${slow.url}/cut-http`, () => {});
          req.on('error', reject);
          req.end();
        }),
    );
    expect(result).toMatchObject({ error: { code: 'gateway_connection_lost', sphyr: true }, times: 1 });
  });

  it('the signing client: gateway_connection_lost, not gateway_unreachable', async () => {
    const client = new GatewayClient({
      gatewayUrl: proxy.url,
      credential: behind.credential,
      agent: { name: 'cut-client' },
    });
    const result = await cutWhenReceived('/cut-client', () =>
      client.relay({ method: 'GET', url: `${slow.url}/cut-client` }),
    );
    expect(result).toMatchObject({ error: { code: 'gateway_connection_lost', sphyr: true }, times: 1 });
  });
});
