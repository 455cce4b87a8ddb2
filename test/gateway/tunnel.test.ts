import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayLimits } from '../../src/gateway/context.js';
import type { LogRecord } from '../../src/gateway/store/types.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { selfSignedCert } from '../helpers/tls.js';
import { openTunnel, readAll, refused, upgraded } from '../helpers/tunnel.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

interface RawTarget {
  port: number;
  /** Connections the target accepted: proof of what was (not) dialled. */
  accepted: number;
}

/** A loopback TCP target: `http` answers one HTTP response per connection; `hold` says nothing. */
async function rawTarget(mode: 'http' | 'hold'): Promise<RawTarget> {
  const sockets = new Set<Socket>();
  const state = { port: 0, accepted: 0 };
  const server: Server = net.createServer((socket) => {
    state.accepted += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    if (mode === 'http') {
      socket.once('data', (chunk: Buffer) => {
        const line = chunk.toString('latin1').split('\r\n')[0];
        const body = `saw ${line}`;
        socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return state;
}

async function gatewayFor(
  ports: number[],
  limits: Partial<GatewayLimits> = {},
  names: Record<string, string> = {},
): Promise<{ gw: TestGateway; agentId: string }> {
  const gw = await startTestGateway(
    JSON.stringify({ unsafeAllowRanges: ['127.0.0.0/8'], tunnelPorts: [443, 80, ...ports] }),
    {
      limits,
      resolve: async (host) => {
        const ip = names[host];
        if (!ip) throw new Error(`no such test name ${host}`);
        return [ip];
      },
    },
  );
  cleanups.push(() => gw.close());
  const agentId = await gw.client().agentId();
  return { gw, agentId };
}

async function tunnelRecords(gw: TestGateway, count: number): Promise<LogRecord[]> {
  for (let i = 0; i < 100; i++) {
    const records = (await gw.gateway.store.query({ limit: 50 })).filter((r) => r.kind === 'tunnel');
    if (records.length >= count) return records.sort((a, b) => a.seq - b.seq);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const all = await gw.gateway.store.query({ limit: 50 });
  throw new Error(
    `expected ${count} tunnel records: ${JSON.stringify(all.map((r) => [r.kind, r.reason]))} ${gw.warnings.join('; ')}`,
  );
}

describe('POST /v1/tunnel', () => {
  it('carries raw HTTP bytes to a loopback target and logs the open and the close', async () => {
    const target = await rawTarget('http');
    const { gw, agentId } = await gatewayFor([target.port]);
    const answer = upgraded(
      await openTunnel({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId,
        target: `127.0.0.1:${target.port}`,
      }),
    );
    expect(answer.headers).toMatch(/sphyr-request-id: \S+/i);
    const request = 'GET /through-the-tunnel HTTP/1.1\r\nHost: x\r\n\r\n';
    answer.socket.write(request);
    const reply = (await readAll(answer.socket, answer.rest)).toString('latin1');
    expect(reply).toContain('saw GET /through-the-tunnel HTTP/1.1');
    const [open, closed] = await tunnelRecords(gw, 2);
    expect(open?.reason).toBe('tunnel_open');
    expect(open?.outcome).toBe('allowed');
    expect(open?.host).toBe(`127.0.0.1:${target.port}`);
    expect(open?.url).toBe(`tunnel://127.0.0.1:${target.port}?address=127.0.0.1`);
    expect(closed?.reason).toBe('tunnel_closed');
    expect(closed?.url).toBe(`tunnel://127.0.0.1:${target.port}?address=127.0.0.1&open=${open?.id}`);
    expect(closed?.bytesIn).toBe(request.length);
    expect(closed?.bytesOut).toBe(reply.length);
    expect(closed?.keyId).toBe(gw.credential.keyId);
  });

  describe('TLS', () => {
    async function tlsSetup() {
      const { key, cert } = await selfSignedCert(['tls.test']);
      let accepted = 0;
      const server = tls.createServer({ key, cert }, (socket) => {
        socket.on('error', () => {});
        socket.once('data', (c: Buffer) => socket.end(`echo ${c.toString()}`));
      });
      server.on('connection', () => {
        accepted += 1;
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
      const port = (server.address() as AddressInfo).port;
      const { gw, agentId } = await gatewayFor([port], {}, { 'tls.test': '127.0.0.1' });
      return { gw, agentId, port, cert, accepted: () => accepted };
    }

    it('lets a ClientHello naming the target host through and logs the server name', async () => {
      const { gw, agentId, port, cert } = await tlsSetup();
      const answer = upgraded(
        await openTunnel({
          gatewayUrl: gw.gateway.url,
          credential: gw.credential,
          agentId,
          target: `tls.test:${port}`,
        }),
      );
      const secure = tls.connect({ socket: answer.socket, servername: 'tls.test', ca: cert });
      const reply = await new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        secure.on('secureConnect', () => secure.write('hello'));
        secure.on('data', (c: Buffer) => chunks.push(c));
        // Resolved once the TCP connection is gone too, not only TLS's close_notify.
        secure.on('close', () => resolve(Buffer.concat(chunks).toString()));
        secure.on('error', reject);
      });
      expect(reply).toBe('echo hello');
      const [open, closed] = await tunnelRecords(gw, 2);
      expect(open?.url).toBe(`tunnel://tls.test:${port}?address=127.0.0.1&sni=tls.test`);
      expect(closed?.bytesIn).toBeGreaterThan(100);
      expect(closed?.bytesOut).toBeGreaterThan(100);
    });

    for (const [label, servername] of [
      ['another host', 'other.test'],
      ['a longer name ending in the host', 'evil.tls.test'],
    ] as const) {
      it(`refuses a ClientHello naming ${label}, with nothing dialled`, async () => {
        const { gw, agentId, port, cert, accepted } = await tlsSetup();
        const answer = upgraded(
          await openTunnel({
            gatewayUrl: gw.gateway.url,
            credential: gw.credential,
            agentId,
            target: `tls.test:${port}`,
          }),
        );
        const secure = tls.connect({ socket: answer.socket, servername, ca: cert });
        const error = await new Promise<Error>((resolve) => {
          secure.on('error', resolve);
          secure.on('secureConnect', () => resolve(new Error('connected')));
        });
        expect(error.message).toMatch(/unrecognized name|ECONNRESET|socket hang up|disconnected/i);
        const [record] = await tunnelRecords(gw, 1);
        expect(record?.reason).toBe('tunnel_sni_mismatch');
        expect(record?.outcome).toBe('blocked');
        expect(accepted()).toBe(0);
      });
    }

    it('refuses a ClientHello without a server name for a named host', async () => {
      const { gw, agentId, port, accepted } = await tlsSetup();
      const answer = upgraded(
        await openTunnel({
          gatewayUrl: gw.gateway.url,
          credential: gw.credential,
          agentId,
          target: `tls.test:${port}`,
        }),
      );
      // Node sends no SNI when servername is an IP address.
      const secure = tls.connect({ socket: answer.socket, servername: '', rejectUnauthorized: false });
      await new Promise((resolve) => {
        secure.on('error', resolve);
        secure.on('close', resolve);
      });
      const [record] = await tunnelRecords(gw, 1);
      expect(record?.reason).toBe('tunnel_sni_mismatch');
      expect(accepted()).toBe(0);
    });
  });

  it('refuses a port outside tunnelPorts before the upgrade, with nothing dialled', async () => {
    const target = await rawTarget('http');
    const { gw, agentId } = await gatewayFor([]);
    const answer = refused(
      await openTunnel({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId,
        target: `127.0.0.1:${target.port}`,
      }),
    );
    expect(answer.status).toBe(403);
    expect(answer.headers).toMatch(/sphyr-outcome: blocked/i);
    expect(answer.code).toBe('tunnel_port_denied');
    expect(target.accepted).toBe(0);
    const [record] = await tunnelRecords(gw, 1);
    expect(record?.reason).toBe('tunnel_port_denied');
  });

  for (const [target, code] of [
    ['169.254.169.254:80', 'ssrf_metadata'],
    ['metadata.google.internal:80', 'ssrf_metadata'],
    ['10.0.0.1:443', 'ssrf_private'],
  ] as const) {
    it(`refuses ${target} by the SSRF screen (${code})`, async () => {
      let resolved = 0;
      const gw = await startTestGateway(undefined, {
        resolve: async () => {
          resolved += 1;
          return ['127.0.0.1'];
        },
      });
      cleanups.push(() => gw.close());
      const agentId = await gw.client().agentId();
      const answer = refused(
        await openTunnel({
          gatewayUrl: gw.gateway.url,
          credential: gw.credential,
          agentId,
          target,
        }),
      );
      expect(answer.status).toBe(403);
      expect(answer.code).toBe(code);
      expect(resolved).toBe(0);
    });
  }

  it('refuses a bad signature with 401 before anything else', async () => {
    const target = await rawTarget('http');
    const { gw, agentId } = await gatewayFor([target.port]);
    const answer = refused(
      await openTunnel({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId,
        target: `127.0.0.1:${target.port}`,
        signKey: new Uint8Array(32).fill(7),
      }),
    );
    expect(answer.status).toBe(401);
    expect(answer.code).toBe('bad_signature');
    expect(target.accepted).toBe(0);
  });

  it('caps open tunnels per key (429 tunnel_limit) and frees the slot when one closes', async () => {
    const target = await rawTarget('hold');
    const { gw, agentId } = await gatewayFor([target.port], { maxTunnelsPerKey: 2 });
    const open = () =>
      openTunnel({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId,
        target: `127.0.0.1:${target.port}`,
      });
    const first = upgraded(await open());
    const second = upgraded(await open());
    const third = refused(await open());
    expect(third.status).toBe(429);
    expect(third.code).toBe('tunnel_limit');
    first.socket.destroy();
    await tunnelRecords(gw, 2); // the cap refusal and the first tunnel's record
    let fourth = await open();
    for (let i = 0; i < 50 && !('socket' in fourth); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      fourth = await open();
    }
    upgraded(fourth).socket.destroy();
    second.socket.destroy();
  });

  it('closes a tunnel whose target stays silent past the idle limit', async () => {
    const target = await rawTarget('hold');
    const { gw, agentId } = await gatewayFor([target.port], { tunnelIdleTimeoutMs: 300 });
    const answer = upgraded(
      await openTunnel({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId,
        target: `127.0.0.1:${target.port}`,
      }),
    );
    answer.socket.write('GET / HTTP/1.1\r\n\r\n');
    await readAll(answer.socket, answer.rest);
    const records = await tunnelRecords(gw, 2);
    expect(records.map((r) => r.reason)).toEqual(['tunnel_open', 'tunnel_idle_timeout']);
    expect(target.accepted).toBe(1);
  });

  it('closes a tunnel whose client never sends a first byte past the idle limit, with nothing dialled', async () => {
    const target = await rawTarget('hold');
    const { gw, agentId } = await gatewayFor([target.port], { tunnelIdleTimeoutMs: 300 });
    const answer = upgraded(
      await openTunnel({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId,
        target: `127.0.0.1:${target.port}`,
      }),
    );
    await readAll(answer.socket, answer.rest);
    const [record] = await tunnelRecords(gw, 1);
    expect(record?.reason).toBe('tunnel_idle_timeout');
    expect(target.accepted).toBe(0);
  });

  it('answers an upgrade on any other path with 404 and closes it', async () => {
    const { gw } = await gatewayFor([]);
    const url = new URL(gw.gateway.url);
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    socket.write(
      `POST /v1/relay HTTP/1.1\r\nHost: ${url.host}\r\nConnection: Upgrade\r\nUpgrade: sphyr-tunnel\r\n\r\n`,
    );
    const reply = (await readAll(socket)).toString('latin1');
    expect(reply).toMatch(/^HTTP\/1\.1 404 /);
    expect(reply).toContain('"code":"not_found"');
  });

  it('answers a plain POST /v1/tunnel without the upgrade with 426', async () => {
    const { gw } = await gatewayFor([]);
    const res = await fetch(`${gw.gateway.url}/v1/tunnel`, { method: 'POST' });
    expect(res.status).toBe(426);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('tunnel_upgrade_required');
  });
});
