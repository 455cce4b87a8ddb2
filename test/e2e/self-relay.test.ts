import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { SphyrPolicyError } from '../../src/errors.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Issue 11 item 2 over real sockets: a gateway on a wildcard bind, with a lab policy that opens
 * loopback, never relays to its own listener, whatever the spelling of the address.
 */
let gw: TestGateway;
let client: GatewayClient;

beforeAll(async () => {
  gw = await startTestGateway(
    JSON.stringify({ unsafeAllowRanges: ['127.0.0.0/8', '0.0.0.0/8', '::ffff:0:0/96', '::1/128'] }),
    { host: '0.0.0.0' },
  );
  client = new GatewayClient({
    gatewayUrl: `http://127.0.0.1:${gw.gateway.port}`,
    credential: gw.credential,
    agent: { name: 'self-relay' },
  });
});

afterAll(async () => {
  await gw?.close();
});

async function reasonFor(url: string): Promise<string> {
  try {
    const res = await client.relay({ method: 'GET', url });
    return `relayed: HTTP ${res.status} ${await res.text()}`;
  } catch (error) {
    if (error instanceof SphyrPolicyError) return error.code;
    throw error;
  }
}

describe('the gateway never relays to itself (wildcard bind)', () => {
  it.each([
    'http://127.0.0.2:PORT/healthz',
    'http://127.0.0.1:PORT/healthz',
    'http://127.10.20.30:PORT/v1/relay',
    'http://[::ffff:127.0.0.2]:PORT/healthz',
    'http://0.0.0.0:PORT/healthz',
  ])('%s → ssrf_self', async (template) => {
    const url = template.replace('PORT', String(gw.gateway.port));
    expect(await reasonFor(url)).toBe('ssrf_self');
    const [record] = await gw.gateway.store.query({ limit: 1 });
    expect(record).toMatchObject({ outcome: 'blocked', reason: 'ssrf_self' });
  });
});
