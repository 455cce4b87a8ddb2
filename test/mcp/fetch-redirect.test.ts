import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';

/**
 * sphyr-mcp's `fetch` tool follows redirects itself, one relay per hop (the gateway never follows
 * them). These tests run it as an IDE does, against a real gateway and real targets: two names
 * (`site.test`, `other.test`, both 127.0.0.1 through the gateway's resolver) on two ports, each port
 * speaking both http and https, so host, port and scheme can each change alone.
 */

const BIN = path.join(ROOT, 'bin', 'sphyr-mcp.js');
const SECRET = 'Bearer s3cret-token';
const COOKIE = 'sid=abc123';

interface Seen {
  scheme: string;
  host: string;
  path: string;
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let gw: TestGateway;
let home: string;
let client: Client;
const seen: Seen[] = [];
const servers: net.Server[] = [];
let portA: number;
let portB: number;

/** One port, both protocols: a TLS handshake starts with byte 0x16, plain HTTP with a letter. */
async function dualServer(key: Buffer, cert: string): Promise<number> {
  const handler = (scheme: string) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push({
        scheme,
        host: req.headers.host ?? '',
        path: url.pathname,
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      if (url.pathname === '/r') {
        res.writeHead(Number(url.searchParams.get('status') ?? 302), {
          location: url.searchParams.get('to') ?? '/',
        });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${scheme} ${req.method} ${req.headers.host}`);
    });
  };
  const plain = http.createServer(handler('http'));
  const secure = https.createServer({ key, cert }, handler('https'));
  servers.push(plain, secure);
  const inner = async (server: net.Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  };
  const plainPort = await inner(plain);
  const securePort = await inner(secure);
  const front = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.once('data', (first) => {
      const back = net.connect(first[0] === 0x16 ? securePort : plainPort, '127.0.0.1');
      back.on('error', () => socket.destroy());
      back.write(first);
      socket.pipe(back).pipe(socket);
    });
  });
  servers.push(front);
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return (front.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  const dir = await tempDir('sphyr-tls-');
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=site.test',
      '-addext',
      'subjectAltName=DNS:site.test,DNS:other.test',
    ]);
    const key = await readFile(path.join(dir, 'key.pem'));
    const cert = await readFile(path.join(dir, 'cert.pem'), 'utf8');
    portA = await dualServer(key, cert);
    portB = await dualServer(key, cert);
    gw = await startTestGateway('{"unsafeAllowRanges": ["127.0.0.0/8"], "rateLimits": {"perAgent": 1000}}', {
      upstreamCa: cert,
      resolve: async (host) => {
        if (host === 'site.test' || host === 'other.test') return ['127.0.0.1'];
        throw new Error('ENOTFOUND');
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  home = await tempDir('sphyr-home-');
  client = new Client({ name: 'redirect-test', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        SPHYR_GATEWAY_URL: gw.gateway.url,
        SPHYR_CREDENTIAL: gw.credential.reveal(),
      },
      stderr: 'pipe',
    }),
  );
});

afterAll(async () => {
  await client?.close();
  await gw?.close();
  for (const server of servers) {
    (server as http.Server).closeAllConnections?.();
    server.close();
  }
  if (home) await rm(home, { recursive: true, force: true });
});

/** Redirect from `from` (with status) to `to`. */
function hop(from: string, to: string, status = 302): string {
  return `${from}/r?status=${status}&to=${encodeURIComponent(to)}`;
}

/** Fetch through the tool; returns what every hop of this call received. */
async function fetchVia(
  url: string,
  headers: Record<string, string>,
  extra: Record<string, unknown> = {},
): Promise<Seen[]> {
  const before = seen.length;
  const result = (await client.callTool({
    name: 'fetch',
    arguments: { url, headers, raw: true, ...extra },
  })) as CallToolResult;
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  return seen.slice(before);
}

const credentials = (s: Seen | undefined) => ({
  authorization: s?.headers.authorization,
  cookie: s?.headers.cookie,
});
const SENT = { authorization: SECRET, cookie: COOKIE };
const DROPPED = { authorization: undefined, cookie: undefined };

describe('the fetch tool never carries credentials to another origin on a redirect', () => {
  it('drops Authorization and Cookie on a 302 to another host, keeps other headers', async () => {
    const hops = await fetchVia(hop(`http://site.test:${portA}`, `http://other.test:${portA}/end`), {
      Authorization: SECRET,
      Cookie: COOKIE,
      'X-Trace': 'kept',
    });
    expect(hops.map((h) => `${h.scheme}://${h.host}${h.path}`)).toEqual([
      `http://site.test:${portA}/r`,
      `http://other.test:${portA}/end`,
    ]);
    expect(credentials(hops[0])).toEqual(SENT);
    expect(credentials(hops[1])).toEqual(DROPPED);
    expect(hops[1]?.headers['x-trace']).toBe('kept');
  });

  it('drops them on a redirect to another port of the same host (header names in any case)', async () => {
    const hops = await fetchVia(hop(`http://site.test:${portA}`, `http://site.test:${portB}/end`), {
      authorization: SECRET,
      COOKIE: COOKIE,
    });
    expect(hops.map((h) => h.host)).toEqual([`site.test:${portA}`, `site.test:${portB}`]);
    expect(credentials(hops[0])).toEqual(SENT);
    expect(credentials(hops[1])).toEqual(DROPPED);
  });

  it.each([
    ['http', 'https'],
    ['https', 'http'],
  ])('drops them on a redirect from %s to %s on the same host and port', async (from, to) => {
    const hops = await fetchVia(hop(`${from}://site.test:${portA}`, `${to}://site.test:${portA}/end`), {
      Authorization: SECRET,
      Cookie: COOKIE,
    });
    expect(hops.map((h) => `${h.scheme} ${h.host}`)).toEqual([
      `${from} site.test:${portA}`,
      `${to} site.test:${portA}`,
    ]);
    expect(credentials(hops[0])).toEqual(SENT);
    expect(credentials(hops[1])).toEqual(DROPPED);
  });

  it('keeps them on a same-origin redirect', async () => {
    const hops = await fetchVia(hop(`http://site.test:${portA}`, '/end'), {
      Authorization: SECRET,
      Cookie: COOKIE,
    });
    expect(hops.map((h) => `${h.host}${h.path}`)).toEqual([`site.test:${portA}/r`, `site.test:${portA}/end`]);
    expect(credentials(hops[1])).toEqual(SENT);
  });

  it('does not send them again once a redirect chain came back to the first origin', async () => {
    const back = hop(`http://other.test:${portA}`, `http://site.test:${portA}/end`);
    const hops = await fetchVia(hop(`http://site.test:${portA}`, back), {
      Authorization: SECRET,
      Cookie: COOKIE,
    });
    expect(hops.map((h) => `${h.host}${h.path}`)).toEqual([
      `site.test:${portA}/r`,
      `other.test:${portA}/r`,
      `site.test:${portA}/end`,
    ]);
    expect(credentials(hops[0])).toEqual(SENT);
    expect(hops.slice(1).map(credentials)).toEqual([DROPPED, DROPPED]);
  });
});

describe('the fetch tool changes method on a redirect as the Fetch standard does', () => {
  const bodyHeaders = {
    Authorization: SECRET,
    'Content-Type': 'application/json',
    'Content-Language': 'en',
    'Content-Location': '/doc',
    'Content-Encoding': 'identity',
  };

  it.each([
    [301, 'POST'],
    [302, 'POST'],
    [303, 'POST'],
    [303, 'PUT'],
  ])('after a %i to a %s: GET without the body or its headers', async (status, method) => {
    const hops = await fetchVia(
      hop(`http://site.test:${portA}`, '/end', status),
      { ...bodyHeaders },
      { method, body: '{"a":1}' },
    );
    expect(hops[0]).toMatchObject({ method, body: '{"a":1}' });
    expect(hops[0]?.headers['content-type']).toBe('application/json');
    expect(hops[1]).toMatchObject({ method: 'GET', path: '/end', body: '' });
    for (const name of [
      'content-type',
      'content-language',
      'content-location',
      'content-encoding',
      'content-length',
    ]) {
      expect(hops[1]?.headers[name], name).toBeUndefined();
    }
    // Same origin: the credential stays.
    expect(hops[1]?.headers.authorization).toBe(SECRET);
  });

  it('keeps HEAD after a 303, and method, body and its headers after a 307 or 308', async () => {
    const head = await fetchVia(hop(`http://site.test:${portA}`, '/end', 303), {}, { method: 'HEAD' });
    expect(head.map((h) => h.method)).toEqual(['HEAD', 'HEAD']);
    for (const status of [307, 308]) {
      const hops = await fetchVia(
        hop(`http://site.test:${portA}`, '/end', status),
        { 'Content-Type': 'application/json' },
        { method: 'POST', body: '{"a":1}' },
      );
      expect(hops[1]).toMatchObject({ method: 'POST', path: '/end', body: '{"a":1}' });
      expect(hops[1]?.headers['content-type']).toBe('application/json');
    }
  });
});
