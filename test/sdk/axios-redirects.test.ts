// Issue 11, item 3 (review F10): under autoInstrument() the SDK follows axios redirects itself (each
// hop may need the gateway), so it must follow them exactly as axios's own http adapter and
// follow-redirects do: `sensitiveHeaders` dropped on another origin with Authorization, Cookie and
// Proxy-Authorization; `beforeRedirect(options, responseDetails, requestDetails)` called with the
// same arguments, its changes kept and its throw refusing the hop; `maxRedirects`; the method and body
// rewrite; `auth` back only at the first request's origin. Each case runs three ways: plain axios,
// instrumented and relayed through a real gateway, instrumented and sent direct. Real loopback servers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import axios, { type AxiosRequestConfig } from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { autoInstrument, type Instrumentation } from '../../src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A loopback server: `/to/<status>?u=<url>` redirects with that status; anything else echoes. */
async function startServer(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const url = new URL(req.url ?? '/', 'http://x.invalid');
      const redirect = /^\/to\/(\d{3})$/.exec(url.pathname);
      if (redirect) {
        res.writeHead(Number(redirect[1]), { location: url.searchParams.get('u') ?? '/' });
        res.end('moved');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`landed ${req.method} ${req.url}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Server = Awaited<ReturnType<typeof startServer>>;
type Mode = 'plain' | 'relayed' | 'direct';
const MODES: Mode[] = ['plain', 'relayed', 'direct'];

let gw: TestGateway;
let a: Server;
let b: Server;
let handle: Instrumentation | undefined;

beforeAll(async () => {
  gw = await startTestGateway(
    '{"unsafeAllowRanges": ["127.0.0.0/8"], "logFullUrl": true, "rateLimits": {"perAgent": 1000}}',
  );
  a = await startServer();
  b = await startServer();
});

afterAll(async () => {
  await gw?.close();
  await a?.close();
  await b?.close();
});

afterEach(() => {
  handle?.restore();
  handle = undefined;
});

function use(mode: Mode): void {
  handle?.restore();
  handle = undefined;
  if (mode === 'plain') return;
  handle = autoInstrument({
    gatewayUrl: gw.gateway.url,
    credential: gw.credential,
    // Loopback is direct by default: name it to relay it through the gateway.
    instrumentHosts: mode === 'relayed' ? ['127.0.0.1'] : [],
    warn: () => {},
  });
}

/** `from` redirects with `status` to `to`. */
const hop = (from: Server, status: number, to: string) =>
  `${from.url}/to/${status}?u=${encodeURIComponent(to)}`;

const WATCH = new Set([
  'x-api-key',
  'authorization',
  'cookie',
  'proxy-authorization',
  'x-hop',
  'x-drop-me',
  'host',
  'content-type',
]);

function watched(headers: unknown): Record<string, unknown> {
  const h = (headers ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(h)
      .map(([k, v]) => [k.toLowerCase(), v] as const)
      .filter(([k]) => WATCH.has(k))
      .sort(([x], [y]) => x.localeCompare(y)),
  );
}

/** What a `beforeRedirect` sees, in a form to compare. */
function snapshot(
  options: Record<string, unknown>,
  response: { statusCode: number; headers: Record<string, unknown> },
  request: { url: string; method: string; headers?: Record<string, unknown> },
) {
  return {
    options: {
      href: options.href,
      protocol: options.protocol,
      hostname: options.hostname,
      port: options.port,
      path: options.path,
      method: options.method,
      auth: options.auth,
      headers: watched(options.headers),
    },
    response: { statusCode: response.statusCode, location: response.headers.location },
    request: { url: request.url, method: request.method, headers: watched(request.headers) },
  };
}

/** Run one call in a mode: the result or error, every beforeRedirect seen, and what each server got. */
async function run(mode: Mode, tag: string, make: (tag: string) => AxiosRequestConfig) {
  use(mode);
  const calls: unknown[] = [];
  const config = make(`${tag}-${mode}`);
  const user = config.beforeRedirect;
  const before = { a: a.seen.length, b: b.seen.length };
  const outcome = await axios
    .request({
      ...config,
      beforeRedirect: (options, response, request) => {
        calls.push(snapshot(options, response as never, request as never));
        user?.(options, response, request);
      },
    })
    .then(
      (res) => ({ status: res.status, data: String(res.data).replace(`-${mode}`, '') }),
      (e) => ({
        error: e.name,
        code: e.code,
        message: e.message,
        isAxiosError: e.isAxiosError,
        response: e.response?.status ?? null,
      }),
    );
  const strip = (s: Seen) => ({
    method: s.method,
    url: s.url.replace(`-${mode}`, ''),
    headers: watched({ ...s.headers, host: undefined }),
    body: s.body,
  });
  return {
    outcome,
    calls: JSON.parse(JSON.stringify(calls).replaceAll(`-${mode}`, '')),
    a: a.seen.slice(before.a).map(strip),
    b: b.seen.slice(before.b).map(strip),
  };
}

/** The same call plain, relayed and direct: all three must be what plain axios does. */
async function compare(tag: string, make: (tag: string) => AxiosRequestConfig) {
  const results: Record<Mode, Awaited<ReturnType<typeof run>>> = {} as never;
  for (const mode of MODES) results[mode] = await run(mode, tag, make);
  // Relayed, the servers never see Proxy-Authorization: the gateway drops it (it is for a proxy).
  const withoutProxyAuth = (seen: ReturnType<typeof run> extends Promise<infer R> ? R : never) => {
    const drop = (s: (typeof seen.a)[number]) => ({
      ...s,
      headers: Object.fromEntries(Object.entries(s.headers).filter(([k]) => k !== 'proxy-authorization')),
    });
    return { ...seen, a: seen.a.map(drop), b: seen.b.map(drop) };
  };
  expect(results.relayed).toEqual(withoutProxyAuth(results.plain));
  expect(results.direct).toEqual(results.plain);
  return results.plain;
}

const SECRETS = {
  'X-API-Key': 'vendor-secret',
  Authorization: 'Bearer tok',
  Cookie: 'sid=1',
  'Proxy-Authorization': 'Basic cA==',
};

describe('axios redirects under autoInstrument() are followed as axios follows them', () => {
  it('sensitiveHeaders (X-API-Key) are dropped on a hop to another origin, with the credentials; beforeRedirect runs once with the same arguments', async () => {
    const plain = await compare('sensitive', (tag) => ({
      url: hop(a, 302, `${b.url}/land/${tag}`),
      headers: SECRETS,
      sensitiveHeaders: ['X-API-Key'],
    }));
    expect(plain.b).toHaveLength(1);
    expect(plain.b[0]?.headers).toEqual({});
    expect(plain.calls).toHaveLength(1);
  });

  it('on a hop to the same origin they are kept', async () => {
    const plain = await compare('same-origin', (tag) => ({
      url: hop(a, 302, `/land/${tag}`),
      headers: SECRETS,
      sensitiveHeaders: ['X-API-Key'],
    }));
    expect(plain.a.at(-1)?.headers).toMatchObject({ 'x-api-key': 'vendor-secret', cookie: 'sid=1' });
  });

  it('a beforeRedirect that throws refuses the hop: the same error, and the other origin gets nothing', async () => {
    const plain = await compare('refused', (tag) => ({
      url: hop(a, 302, `${b.url}/land/${tag}`),
      beforeRedirect: () => {
        throw new Error('redirect refused by app');
      },
    }));
    expect(plain.outcome).toMatchObject({ code: 'ERR_FR_REDIRECTION_FAILURE', isAxiosError: true });
    expect(plain.b).toEqual([]);
  });

  it("beforeRedirect's changes to the hop's headers are what the next hop sends", async () => {
    const plain = await compare('edited', (tag) => ({
      url: hop(a, 302, `${b.url}/land/${tag}`),
      headers: { 'X-Drop-Me': 'yes' },
      beforeRedirect: (options) => {
        const headers = options.headers as Record<string, string>;
        headers['X-Hop'] = '1';
        delete headers['X-Drop-Me'];
      },
    }));
    expect(plain.b[0]?.headers).toEqual({ 'x-hop': '1' });
  });

  it('maxRedirects: one hop too many is the error follow-redirects gives, with beforeRedirect run for the hop allowed', async () => {
    const plain = await compare('too-many', (tag) => ({
      url: hop(a, 302, hop(b, 302, `${a.url}/land/${tag}`)),
      maxRedirects: 1,
    }));
    expect(plain.outcome).toMatchObject({ code: 'ERR_FR_TOO_MANY_REDIRECTS', response: null });
  });

  it('a 307 resends the body and method; a 303 turns a POST into a GET without its body and Content-Type', async () => {
    const kept = await compare('307', (tag) => ({
      method: 'post',
      url: hop(a, 307, `${b.url}/land/${tag}`),
      data: 'the body',
      headers: { 'Content-Type': 'text/plain' },
    }));
    expect(kept.b[0]).toMatchObject({ method: 'POST', body: 'the body' });
    const rewritten = await compare('303', (tag) => ({
      method: 'post',
      url: hop(a, 303, `${b.url}/land/${tag}`),
      data: 'the body',
      headers: { 'Content-Type': 'text/plain' },
    }));
    expect(rewritten.b[0]).toMatchObject({ method: 'GET', body: '' });
  });

  it('`auth` is sent only to the first origin: not to another, and again when a hop comes back', async () => {
    const plain = await compare('auth', (tag) => ({
      url: hop(a, 302, hop(b, 302, `${a.url}/land/${tag}`)),
      auth: { username: 'caller', password: 'secret' },
    }));
    expect(plain.b[0]?.headers.authorization).toBeUndefined();
    expect(plain.a.at(-1)?.headers.authorization).toMatch(/^Basic /);
  });
});
