import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { generateCredential } from '../../src/config/credential.js';
import { SphyrAuthError, SphyrNetworkError } from '../../src/errors.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function setup(
  options: Parameters<typeof startTestGateway>[1] = {},
): Promise<{ gw: TestGateway; target: TargetServer }> {
  const gw = await startTestGateway(undefined, options);
  const target = await startTarget();
  cleanup.push(
    () => gw.close(),
    () => target.close(),
  );
  return { gw, target };
}

describe('GatewayClient', () => {
  it('corrects its clock once on clock_skew and succeeds', async () => {
    // The gateway runs ten minutes ahead of this client.
    const { gw, target } = await setup({ now: () => Date.now() + 10 * 60_000 });
    const res = await gw.client().relay({ method: 'GET', url: `${target.url}/echo` });
    expect(res.status).toBe(200);
    const records = await gw.gateway.store.query({ limit: 10 });
    expect(records.map((r) => r.reason)).toEqual(['allowed', 'clock_skew']);
  });

  it('re-registers once, transparently, when its agent expired', async () => {
    let clock = Date.now();
    const { gw, target } = await setup({ now: () => clock, limits: { agentTtlMs: 60_000 } });
    const client = new GatewayClient({
      gatewayUrl: gw.gateway.url,
      credential: gw.credential,
      agent: { name: 'ttl' },
      now: () => clock,
    });
    const first = await client.agentId();
    clock += 61_000;
    const res = await client.relay({ method: 'GET', url: `${target.url}/echo` });
    expect(res.status).toBe(200);
    expect(await client.agentId()).not.toBe(first);
    const reasons = (await gw.gateway.store.query({ limit: 10 })).map((r) => r.reason);
    expect(reasons).toEqual(['allowed', 'agent_expired']);
  });

  it('gives up after one retry when the credential is refused', async () => {
    const { gw, target } = await setup();
    const stranger = new GatewayClient({
      gatewayUrl: gw.gateway.url,
      credential: generateCredential('key_stranger'),
      agent: { name: 'x' },
    });
    await expect(stranger.relay({ method: 'GET', url: `${target.url}/echo` })).rejects.toMatchObject({
      constructor: SphyrAuthError,
      code: 'unknown_key',
    });
    expect(target.seen).toHaveLength(0);
  });

  it('reports key_revoked at once after a revocation', async () => {
    const { gw, target } = await setup();
    const client = gw.client();
    expect((await client.relay({ method: 'GET', url: `${target.url}/echo` })).status).toBe(200);
    await gw.gateway.store.revokeKey(gw.credential.keyId, Date.now());
    await expect(client.relay({ method: 'GET', url: `${target.url}/echo` })).rejects.toMatchObject({
      code: 'key_revoked',
    });
  });

  it('fails closed with SphyrNetworkError when the gateway is unreachable, without leaking the secret', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const credential = generateCredential('key_offline');
    const client = new GatewayClient({
      gatewayUrl: `http://127.0.0.1:${port}`,
      credential,
      agent: { name: 'x' },
    });
    const error = await client.relay({ method: 'GET', url: 'https://api.example.com/' }).catch((e) => e);
    expect(error).toBeInstanceOf(SphyrNetworkError);
    expect(error.code).toBe('gateway_unreachable');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('ECONNREFUSED');
    const secret = credential.reveal().split('.')[2] as string;
    expect(`${error.message} ${error.stack} ${JSON.stringify(error)}`).not.toContain(secret);
  });
  it('a gateway URL on a port fetch refuses (Fetch "bad port", e.g. 9) is gateway_unreachable: nothing was sent', async () => {
    const client = new GatewayClient({
      gatewayUrl: 'http://127.0.0.1:9',
      credential: generateCredential('key_badport'),
      agent: { name: 'x' },
    });
    const error = await client.relay({ method: 'GET', url: 'https://api.example.com/' }).catch((e) => e);
    expect(error).toBeInstanceOf(SphyrNetworkError);
    expect(error.code).toBe('gateway_unreachable');
  });

  it('a gateway that takes the connection and never answers registration is gateway_timeout, not unreachable', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s);
      s.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () =>
        new Promise((r) => {
          for (const s of sockets) s.destroy();
          silent.close(() => r());
        }),
    );
    const client = new GatewayClient({
      gatewayUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      credential: generateCredential('key_silent'),
      agent: { name: 'x' },
      registerTimeoutMs: 300,
    });
    const error = await client.relay({ method: 'GET', url: 'https://api.example.com/' }).catch((e) => e);
    expect(error).toBeInstanceOf(SphyrNetworkError);
    expect(error.code).toBe('gateway_timeout');
    expect(error.message).not.toContain('nothing was sent');
    // The same for every signed call that registers first, and again on the next attempt.
    await expect(client.check('GET', 'https://api.example.com/')).rejects.toMatchObject({
      code: 'gateway_timeout',
    });
  });

  it('refuses to trust a server that is not a Sphyr gateway', async () => {
    const impostor = http.createServer((_req, res) => res.end('{"agentId":"agt_fake"}'));
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((r) => impostor.close(() => r())));
    const client = new GatewayClient({
      gatewayUrl: `http://127.0.0.1:${(impostor.address() as AddressInfo).port}`,
      credential: generateCredential('key_x'),
      agent: { name: 'x' },
    });
    await expect(client.relay({ method: 'GET', url: 'https://api.example.com/' })).rejects.toMatchObject({
      code: 'gateway_bad_response',
    });
  });

  it('checks, reports tool calls and reads back its own records', async () => {
    const { gw } = await setup();
    const client = gw.client();
    expect(await client.check('GET', 'http://169.254.169.254/')).toEqual({
      verdict: 'block',
      reason: 'ssrf_metadata',
    });
    expect(await client.check('get', 'http://127.0.0.1:9/x#frag')).toEqual({
      verdict: 'allow',
      reason: 'allowed',
    });
    await client.reportToolCall({
      tool: 'fetch',
      argsDigest: 'sha256:abc',
      entropy: 3.1,
      outcome: 'allowed',
      durationMs: 12,
    });
    const mine = (await client.recentRecords(10)) as Array<{ kind: string; tool: string | null }>;
    expect(mine.map((r) => r.kind)).toEqual(['tool', 'check', 'check']);
    expect(mine[0]?.tool).toBe('fetch');
    // Another agent of the same key sees none of them.
    expect(await gw.client('other').recentRecords(10)).toEqual([]);
  });
});
