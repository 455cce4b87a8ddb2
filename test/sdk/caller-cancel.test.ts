// Issue 11, item 12 (review F8): the caller's own abort, cancel and timeout cover the whole call,
// agent registration included, and a request the caller gave up on is never sent afterwards. A
// gateway that took the connection and never answered is not "unreachable … nothing was sent".
// Real gateway behind a real proxy that holds registration until the test lets it go; real targets.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import axios from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateCredential } from '../../src/config/credential.js';
import { isSphyrError } from '../../src/errors.js';
import { autoInstrument, type Instrumentation, wrapHttp } from '../../src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

/** An HTTP proxy in front of the gateway that can hold agent registration (`POST /v1/agents`). */
interface HoldingProxy {
  url: string;
  /** From now on, hold each registration until `release()`. */
  hold(): void;
  /** Resolves once a registration is being held. */
  holding(): Promise<void>;
  release(): void;
  close(): Promise<void>;
}

async function startHoldingProxy(gatewayPort: () => number): Promise<HoldingProxy> {
  let holdNext = false;
  let held: Array<() => void> = [];
  const waiters: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const forward = () => {
      const upstream = http.request(
        { host: '127.0.0.1', port: gatewayPort(), method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (req.url === '/v1/agents' && holdNext) {
      held.push(forward);
      for (const w of waiters.splice(0)) w();
    } else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold: () => {
      holdNext = true;
    },
    holding: () => (held.length > 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
    release: () => {
      holdNext = false;
      const go = held;
      held = [];
      for (const f of go) f();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP server that takes every connection and never answers. */
async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let gw: TestGateway;
let proxy: HoldingProxy;
let target: TargetServer;
let silent: Awaited<ReturnType<typeof startSilentServer>>;
let handle: Instrumentation | undefined;

beforeAll(async () => {
  proxy = await startHoldingProxy(() => gw.gateway.port);
  // The SDK talks to the proxy, so the gateway's own authority is the proxy's.
  gw = await startTestGateway('{"unsafeAllowRanges": ["127.0.0.0/8"], "logFullUrl": true}', {
    publicUrl: proxy.url,
  });
  target = await startTarget();
  silent = await startSilentServer();
});

afterAll(async () => {
  await proxy?.close();
  await gw?.close();
  await target?.close();
  await silent?.close();
});

afterEach(() => {
  proxy.release();
  handle?.restore();
  handle = undefined;
});

/** A fresh instrumentation (so a fresh registration), whose registration the proxy holds. */
function instrumentHeld(extra: Parameters<typeof autoInstrument>[0] = {}): void {
  proxy.hold();
  handle = autoInstrument({
    gatewayUrl: proxy.url,
    credential: gw.credential,
    instrumentHosts: ['127.0.0.1'],
    agentName: 'caller-cancel',
    warn: () => {},
    ...extra,
  });
}

/** Settles with what `pending` settles with, or with a marker when it is still waiting after `ms`. */
async function within<T>(pending: Promise<T>, ms = 5000): Promise<T | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'still waiting'>((resolve) => {
    timer = setTimeout(() => resolve('still waiting'), ms);
  });
  try {
    return await Promise.race([pending, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** After registration is let go: did the target or the gateway's log ever see `path`? */
async function sentAfterRelease(path: string): Promise<{ targetSaw: number; logged: number }> {
  proxy.release();
  // A control request through the same instrumentation: once it is back, registration is done and
  // a wrongful send of the abandoned request has been issued; give it a moment to land.
  const control = await fetch(`${target.url}/echo/control`);
  await control.text();
  await new Promise((r) => setTimeout(r, 300));
  const records = await gw.gateway.store.query({ limit: 50 });
  return {
    targetSaw: target.seen.filter((s) => s.url === path).length,
    logged: records.filter((r) => r.url !== null && new URL(r.url).pathname === path).length,
  };
}

function shape(error: unknown) {
  const e = error as { name?: string; code?: string; message?: string; isAxiosError?: boolean };
  return {
    name: e?.name,
    code: e?.code,
    message: e?.message,
    isAxiosError: e?.isAxiosError,
    sphyr: isSphyrError(e),
  };
}

describe('axios: a request cancelled while the SDK registers its agent is never sent', () => {
  it('AbortController.abort(): CanceledError at once, and nothing reaches the target', async () => {
    instrumentHeld();
    const controller = new AbortController();
    const pending = axios
      .get(`${target.url}/echo/axios-abort`, { signal: controller.signal })
      .catch((e) => e);
    await proxy.holding();
    controller.abort();
    expect(shape(await within(pending))).toMatchObject({
      name: 'CanceledError',
      code: 'ERR_CANCELED',
      isAxiosError: true,
      sphyr: false,
    });
    expect(await sentAfterRelease('/echo/axios-abort')).toEqual({ targetSaw: 0, logged: 0 });
  });

  it("a CancelToken: the token's CanceledError at once, and nothing reaches the target", async () => {
    instrumentHeld();
    const source = axios.CancelToken.source();
    const pending = axios
      .get(`${target.url}/echo/axios-token`, { cancelToken: source.token })
      .catch((e) => e);
    await proxy.holding();
    source.cancel('stop');
    expect(shape(await within(pending))).toMatchObject({
      name: 'CanceledError',
      code: 'ERR_CANCELED',
      message: 'stop',
    });
    expect(await sentAfterRelease('/echo/axios-token')).toEqual({ targetSaw: 0, logged: 0 });
  });

  it('timeout: 300 covers registration: ECONNABORTED while registration is still held, nothing sent', async () => {
    instrumentHeld();
    const url = `${target.url}/echo/axios-timeout`;
    const pending = axios.get(url, { timeout: 300 }).catch((e) => e);
    const error = await within(pending);
    expect(shape(error)).toEqual({
      name: 'AxiosError',
      code: 'ECONNABORTED',
      message: 'timeout of 300ms exceeded',
      isAxiosError: true,
      sphyr: false,
    });
    expect((error as { config?: { url?: string } }).config?.url).toBe(url);
    expect(await sentAfterRelease('/echo/axios-timeout')).toEqual({ targetSaw: 0, logged: 0 });
  });

  it('an AbortSignal.timeout() signal: CanceledError, nothing sent', async () => {
    instrumentHeld();
    const pending = axios
      .get(`${target.url}/echo/axios-signal-timeout`, { signal: AbortSignal.timeout(200) })
      .catch((e) => e);
    expect(shape(await within(pending))).toMatchObject({ code: 'ERR_CANCELED', isAxiosError: true });
    expect(await sentAfterRelease('/echo/axios-signal-timeout')).toEqual({ targetSaw: 0, logged: 0 });
  });
});

describe('wrapHttp: a request the caller gives up on while the SDK registers is never sent', () => {
  function post(path: string, options: http.RequestOptions) {
    const req = wrapHttp(http).request(`${target.url}${path}`, { method: 'POST', ...options }, (res) =>
      res.resume(),
    );
    const error = new Promise<Error>((resolve) => req.on('error', resolve));
    req.end('payload');
    return { req, error };
  }

  it("the caller's signal: AbortError, and the POST never reaches the target", async () => {
    instrumentHeld();
    const controller = new AbortController();
    const { error } = post('/echo/http-abort', { signal: controller.signal });
    await proxy.holding();
    controller.abort();
    expect(shape(await within(error))).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', sphyr: false });
    expect(await sentAfterRelease('/echo/http-abort')).toEqual({ targetSaw: 0, logged: 0 });
  });

  it('destroy(): the POST never reaches the target', async () => {
    instrumentHeld();
    const { req } = post('/echo/http-destroy', {});
    req.on('error', () => {});
    await proxy.holding();
    req.destroy();
    expect(await sentAfterRelease('/echo/http-destroy')).toEqual({ targetSaw: 0, logged: 0 });
  });

  it("the `timeout` option covers registration: 'timeout' fires while it is held; destroyed there, nothing is sent", async () => {
    instrumentHeld();
    const { req } = post('/echo/http-timeout', { timeout: 300 });
    req.on('error', () => {});
    const timedOut = new Promise<string>((resolve) => req.on('timeout', () => resolve('timeout')));
    expect(await within(timedOut)).toBe('timeout');
    req.destroy();
    expect(await sentAfterRelease('/echo/http-timeout')).toEqual({ targetSaw: 0, logged: 0 });
  });
});

describe('a gateway that takes the connection and never answers', () => {
  function instrumentSilent(failClosed: boolean): void {
    handle = autoInstrument({
      gatewayUrl: silent.url,
      credential: generateCredential('key_silent'),
      instrumentHosts: ['127.0.0.1'],
      failClosed,
      warn: () => {},
    });
  }

  it("axios timeout: 300 with failClosed: false is the caller's ECONNABORTED, and is not sent direct", async () => {
    instrumentSilent(false);
    const error = await within(
      axios.get(`${target.url}/echo/silent-axios`, { timeout: 300 }).catch((e) => e),
    );
    expect(shape(error)).toMatchObject({ code: 'ECONNABORTED', isAxiosError: true, sphyr: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(target.seen.filter((s) => s.url === '/echo/silent-axios')).toHaveLength(0);
  });

  it('without a caller limit: SphyrNetworkError gateway_timeout, not "unreachable", and not sent direct even failing open', async () => {
    instrumentSilent(false);
    const error = await within(
      fetch(`${target.url}/echo/silent-fetch`).catch((e) => e),
      25_000,
    );
    expect(shape(error)).toMatchObject({ name: 'SphyrNetworkError', code: 'gateway_timeout', sphyr: true });
    expect((error as Error).message).not.toContain('nothing was sent');
    expect(target.seen.filter((s) => s.url === '/echo/silent-fetch')).toHaveLength(0);
  }, 30_000);
});
