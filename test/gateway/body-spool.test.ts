import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { dirBytes, fillDigest, type RawUpload, rawUpload, signedHeaders } from '../helpers/raw-upload.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const MiB = 1024 * 1024;

let gw: TestGateway;
let target: TargetServer;
let agentId: string;
let spoolDir: string;

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway(undefined, { limits: { maxSpooledBodies: 2 } });
  agentId = await gw.client().agentId();
  spoolDir = path.join(gw.dataDir, 'tmp');
});

afterAll(async () => {
  await gw?.close();
  await target?.close();
});

/** An authenticated relay of `bytes` bytes to the target's /echo. */
function relay(bytes: number, extra: Partial<RawUpload> = {}): RawUpload {
  return {
    gatewayUrl: gw.gateway.url,
    path: '/v1/relay',
    bodyBytes: bytes,
    headers: signedHeaders({
      gatewayUrl: gw.gateway.url,
      kind: 'relay',
      path: '/v1/relay',
      keyId: gw.credential.keyId,
      key: gw.credential.secret,
      digest: fillDigest(bytes),
      agentId,
      target: `${target.url}/echo`,
    }),
    ...extra,
  };
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met within 10 s');
}

describe('how many bodies are spooled at once is bounded (maxSpooledBodies: 2)', () => {
  it('refuses large bodies past the bound with 503 spool_full and Retry-After; small ones and later ones pass', async () => {
    // Two large uploads that stop half-way, each holding a spool file.
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held = [1, 2].map(() =>
      rawUpload(relay(8 * MiB, { onProgress: (sent) => (sent === 2 * MiB ? gate : undefined) })),
    );
    await until(async () => (await readdir(spoolDir)).length === 2);

    const declared = await rawUpload(relay(8 * MiB));
    expect(declared.status).toBe(503);
    expect(declared.code).toBe('spool_full');
    expect(declared.headers['retry-after']).toMatch(/^\d+$/);
    expect(declared.headers['sphyr-outcome']).toBe('rate_limited');

    const chunked = await rawUpload(relay(8 * MiB, { chunked: true }));
    expect(chunked.status).toBe(503);
    expect(chunked.code).toBe('spool_full');

    // Bodies that stay in memory do not need a spool slot.
    const small = await rawUpload(relay(64 * 1024));
    expect(small.status).toBe(200);

    expect((await readdir(spoolDir)).length).toBe(2);
    release();
    for (const res of await Promise.all(held)) expect(res.status).toBe(200);

    // The slots are free again once the held bodies are disposed (which may finish after their answers).
    await until(async () => (await readdir(spoolDir)).length === 0);
    const later = await rawUpload(relay(8 * MiB));
    expect(later.status).toBe(200);
    // The answer can arrive before the gateway has deleted the last spool file.
    await until(async () => (await dirBytes(spoolDir)) === 0);
    const records = await gw.gateway.store.query({ limit: 10 });
    expect(records.filter((r) => r.reason === 'spool_full').map((r) => [r.status, r.outcome])).toEqual([
      [503, 'rate_limited'],
      [503, 'rate_limited'],
    ]);
  }, 60_000);
});

describe('an answer given before the body reaches a client still sending it', () => {
  it('the SDK uploading 20 MiB with a skewed clock gets clock_skew, corrects it and succeeds', async () => {
    // Once the agent is registered the gateway's clock jumps 200 s ahead: the relay's signature has
    // expired, so the gateway answers before it reads the body; the SDK must see that answer, not a
    // reset, to correct its clock and retry.
    let offset = 0;
    const ahead = await startTestGateway(undefined, { now: () => Date.now() + offset });
    const client = ahead.client();
    try {
      await client.agentId();
      offset = 200_000;
      const seen = target.seen.length;
      const res = await client.relay({
        method: 'PUT',
        url: `${target.url}/echo`,
        body: new Uint8Array(20 * MiB).fill(0x61),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { bodyBytes: number }).bodyBytes).toBe(20 * MiB);
      expect(target.seen.length).toBe(seen + 1);
      const records = await ahead.gateway.store.query({ limit: 10 });
      expect(records.filter((r) => r.kind === 'relay').map((r) => [r.status, r.reason])).toEqual([
        [200, 'allowed'],
        [401, 'clock_skew'],
      ]);
    } finally {
      await ahead.close();
    }
  }, 60_000);
});
