import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { fillDigest, rawUpload, signedHeaders } from '../helpers/raw-upload.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

let gw: TestGateway;
let target: TargetServer;
/** The gateway's clock, moved by the test. */
let clock = Date.parse('2026-01-01T00:00:00Z');
let agentId: string;

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway(undefined, { now: () => clock });
  const client = new GatewayClient({
    gatewayUrl: gw.gateway.url,
    credential: gw.credential,
    agent: { name: 'edge' },
    now: () => clock,
  });
  agentId = await client.agentId();
});

afterAll(async () => {
  await gw?.close();
  await target?.close();
});

describe('no replay at the edge of the window (over a real socket)', () => {
  it.each([
    // [name, created − now, lifetime, first use at this ms of its second, replay this long after]
    ['60 s ahead, 300 s lifetime, replayed at +360 s', 60, 300, 0, 360_000],
    ['60 s ahead, 300 s lifetime, first use mid-second, replayed at +360.1 s', 60, 300, 500, 360_100],
    ['30 s ahead, 300 s lifetime, replayed in its last second', 30, 300, 0, 330_999],
  ])('%s → 401 replay, nothing relayed', async (_name, ahead, lifetime, firstMs, replayAfterMs) => {
    const start = Math.floor(clock / 1000) * 1000 + firstMs;
    clock = start;
    const request = {
      gatewayUrl: gw.gateway.url,
      path: '/v1/relay',
      bodyBytes: 16,
      headers: signedHeaders({
        gatewayUrl: gw.gateway.url,
        kind: 'relay',
        path: '/v1/relay',
        keyId: gw.credential.keyId,
        key: gw.credential.secret,
        digest: fillDigest(16),
        agentId,
        target: `${target.url}/echo`,
        nowSeconds: Math.floor(start / 1000) + ahead,
        lifetimeSeconds: lifetime,
      }),
    };
    expect((await rawUpload(request)).status).toBe(200);
    const seen = target.seen.length;
    clock = start + replayAfterMs;
    const replay = await rawUpload(request);
    expect([replay.status, replay.code]).toEqual([401, 'replay']);
    expect(target.seen.length).toBe(seen);
    clock += 400_000;
  });
});
