import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentDigest, signRequest } from '../../src/signing/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Issue 11 item 12, the gateway's side: a caller that goes away is logged with its own reason,
 * `client_closed`, never as `internal_error` with a stack trace for the operator.
 */
let gw: TestGateway;
let slow: http.Server;
let slowUrl: string;
let received = 0;

beforeAll(async () => {
  gw = await startTestGateway();
  slow = http.createServer((req, res) => {
    received += 1;
    const url = new URL(req.url ?? '/', 'http://x');
    const wait = Number(url.searchParams.get('ms') ?? '1500');
    if (url.pathname === '/headers-then-slow') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part\n');
      setTimeout(() => res.end('rest'), wait).unref();
      return;
    }
    setTimeout(() => res.end('late'), wait).unref();
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
});

afterAll(async () => {
  slow.closeAllConnections();
  await new Promise((r) => slow.close(r));
  await gw?.close();
});

async function recordAfter(seq: number) {
  for (let i = 0; i < 50; i += 1) {
    const [record] = await gw.gateway.store.query({ limit: 1 });
    if (record && record.seq > seq) return record;
    await new Promise((r) => setTimeout(r, 100));
  }
  return (await gw.gateway.store.query({ limit: 1 }))[0];
}

describe('a caller that goes away', () => {
  it.each([
    ['before the target answers', '/wait?ms=1500'],
    ['in the middle of the response body', '/headers-then-slow?ms=1500'],
  ])('%s is logged as client_closed, with no stack trace', async (_label, path) => {
    const before = received;
    const lastSeq = (await gw.gateway.store.query({ limit: 1 }))[0]?.seq ?? 0;
    const client = gw.client();
    await client.agentId();
    const controller = new AbortController();
    const sent = client
      .relay({ method: 'GET', url: `${slowUrl}${path}`, signal: controller.signal })
      .then(async (res) => {
        await res.text();
      });
    const settled = sent.catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 400));
    controller.abort();
    await settled;
    expect(received).toBe(before + 1);
    const record = await recordAfter(lastSeq);
    expect(record).toMatchObject({ outcome: 'error', reason: 'client_closed' });
    expect(gw.warnings.join('\n')).not.toMatch(/internal_error|AbortError|\n\s+at /);
  });

  it('while still sending its body is logged as client_closed, with no stack trace', async () => {
    const lastSeq = (await gw.gateway.store.query({ limit: 1 }))[0]?.seq ?? 0;
    const agentId = await gw.client().agentId();
    const gatewayUrl = new URL(gw.gateway.url);
    const body = Buffer.alloc(512 * 1024, 0x61);
    const digest = contentDigest(body);
    const target = `${slowUrl}/upload`;
    const signed = signRequest({
      kind: 'relay',
      facts: {
        method: 'POST',
        authority: gatewayUrl.host,
        path: '/v1/relay',
        query: '?',
        targetUri: target,
        contentDigest: digest,
        agentId,
      },
      keyId: gw.credential.keyId,
      key: gw.credential.secret,
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    const socket = net.connect(Number(gatewayUrl.port), gatewayUrl.hostname);
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      `POST /v1/relay HTTP/1.1\r\nHost: ${gatewayUrl.host}\r\nContent-Length: ${body.length}\r\n` +
        `Content-Digest: ${digest}\r\nSignature-Input: ${signed.signatureInput}\r\nSignature: ${signed.signature}\r\n` +
        `Sphyr-Target-Uri: ${target}\r\nSphyr-Agent-Id: ${agentId}\r\n\r\n`,
    );
    socket.write(body.subarray(0, 100 * 1024));
    await new Promise((r) => setTimeout(r, 300));
    socket.destroy();
    const record = await recordAfter(lastSeq);
    expect(record).toMatchObject({ outcome: 'error', reason: 'client_closed' });
    expect(gw.warnings.join('\n')).not.toMatch(/internal_error|aborted|\n\s+at /);
  });
});
