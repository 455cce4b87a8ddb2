import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import type { LogRecord } from '../../src/gateway/store/types.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

/**
 * Issue 13 item 20: a request refused after its signature held (over a rate limit, an expired
 * agent) keeps in its log record the key, agent, signature and (for a relay) host it had, the way a
 * policy refusal always did. A request whose signature did not hold keeps only the key id it
 * claimed: nothing it sent unauthenticated (its target, its agent) is written as fact.
 */
let gw: TestGateway;
let target: TargetServer;
/** Held still, so every burst below falls in one rate-limit window whatever this machine's speed. */
const clock = Date.now();

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway(
    JSON.stringify({
      unsafeAllowRanges: ['127.0.0.0/8'],
      rateLimits: { perAgent: 2, perKey: 1000, perIp: 1000, preAuthPerIp: 1000 },
    }),
    { now: () => clock },
  );
});

afterAll(async () => {
  await gw?.close();
  await target?.close();
});

async function newest(): Promise<LogRecord> {
  const [record] = await gw.gateway.store.query({ limit: 1 });
  if (!record) throw new Error('the log is empty');
  return record;
}

function client(name: string): GatewayClient {
  return new GatewayClient({ gatewayUrl: gw.gateway.url, credential: gw.credential, agent: { name } });
}

describe('a request refused after authentication keeps who sent it and where to', () => {
  it('a relay over the per-agent limit keeps key, agent, signature and host', async () => {
    const agent = client('limited-relay');
    const agentId = await agent.agentId();
    const url = `${target.url}/echo?n=`;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const res = await agent.relay({ method: 'GET', url: `${url}${i}` });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(await newest()).toMatchObject({
      kind: 'relay',
      outcome: 'rate_limited',
      reason: 'rate_limited_agent',
      keyId: gw.credential.keyId,
      agentId,
      host: new URL(target.url).host,
      urlHash: gw.gateway.store.hashUrl(`${url}2`),
      signature: expect.stringMatching(/^sig=:/),
    });
  });

  it('a check over the per-agent limit keeps key, agent and signature', async () => {
    const agent = client('limited-check');
    const agentId = await agent.agentId();
    await agent.check('GET', 'https://example.com/a');
    await agent.check('GET', 'https://example.com/b');
    await expect(agent.check('GET', 'https://example.com/c')).rejects.toMatchObject({ code: 'rate_limited' });
    expect(await newest()).toMatchObject({
      kind: 'check',
      outcome: 'rate_limited',
      reason: 'rate_limited_agent',
      keyId: gw.credential.keyId,
      agentId,
      signature: expect.stringMatching(/^sig=:/),
    });
  });

  it('a tool-call report over the per-agent limit keeps key, agent and signature', async () => {
    const agent = client('limited-tool');
    const agentId = await agent.agentId();
    const report = () =>
      agent.reportToolCall({
        tool: 'fetch',
        argsDigest: 'sha256:00',
        entropy: 1,
        outcome: 'allowed',
        reason: 'allowed',
        durationMs: 1,
      });
    await report();
    await report();
    await expect(report()).rejects.toMatchObject({ code: 'rate_limited' });
    expect(await newest()).toMatchObject({
      kind: 'refusal',
      outcome: 'rate_limited',
      reason: 'rate_limited_agent',
      keyId: gw.credential.keyId,
      agentId,
      signature: expect.stringMatching(/^sig=:/),
    });
  });

  it('a request with a bad signature records only the key id it claimed, never its target', async () => {
    const res = await fetch(`${gw.gateway.url}/v1/relay`, {
      headers: {
        'sphyr-target-uri': 'https://claimed.example/',
        'sphyr-agent-id': 'agt_claimed',
        'signature-input': `sig=("@method");created=${Math.floor(clock / 1000)};keyid="${gw.credential.keyId}";alg="hmac-sha256";tag="sphyr-req-v1"`,
        signature: 'sig=:AAAA:',
      },
    });
    expect(res.status).toBe(401);
    const record = await newest();
    expect(record).toMatchObject({ kind: 'relay', outcome: 'unauthorized', agentId: null, host: null });
    expect(record.signature).toBeNull();
  });
});
