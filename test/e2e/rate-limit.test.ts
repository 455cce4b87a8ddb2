import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayClient } from '../../src/client/gateway-client.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

let gw: TestGateway;
let target: TargetServer;
/** The gateway's clock, held still so "within one second" does not depend on this machine's speed. */
let clock = Date.now();
let burstClient: GatewayClient | undefined;
const burst = () => {
  burstClient ??= gw.client('burst');
  return burstClient;
};

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway(undefined, { now: () => clock });
});

afterAll(async () => {
  await gw?.close();
  await target?.close();
});

describe('rate limits (rolling one-second window)', () => {
  it('lets 10 of 50 requests from one agent within a second through; the rest get 429 with Retry-After', async () => {
    const client = burst();
    await client.agentId();
    const seen = target.seen.length;
    clock = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => client.relay({ method: 'GET', url: `${target.url}/echo` })),
    );
    const allowed = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(allowed).toHaveLength(10);
    expect(limited).toHaveLength(40);
    for (const r of limited) {
      expect(r.headers.get('sphyr-outcome')).toBe('rate_limited');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('rate_limited_agent');
    }
    expect(target.seen.length - seen).toBe(10);
    const records = await gw.gateway.store.query({ limit: 50 });
    expect(records.filter((r) => r.outcome === 'rate_limited')).toHaveLength(40);
  });

  it('allows the agent again once the window has moved on', async () => {
    const client = burst();
    const still = await client.relay({ method: 'GET', url: `${target.url}/echo` });
    expect(still.status).toBe(429);
    clock += 1001;
    const res = await client.relay({ method: 'GET', url: `${target.url}/echo` });
    expect(res.status).toBe(200);
  });

  it('gives a second agent of the same key its own allowance', async () => {
    const res = await gw.client('other-agent').relay({ method: 'GET', url: `${target.url}/echo` });
    expect(res.status).toBe(200);
  });
});
