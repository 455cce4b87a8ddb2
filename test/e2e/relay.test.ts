import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCredential } from '../../src/config/credential.js';
import { SphyrPolicyError } from '../../src/errors.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { errorCode, sendSigned } from '../helpers/signed-request.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

let gw: TestGateway;
let target: TargetServer;
let agentId: string;

async function recordCount(): Promise<number> {
  return (await gw.gateway.store.query({ limit: 1_000_000 })).length;
}

/** Run `fn` and return the records it added to the log. */
async function newRecords(fn: () => Promise<unknown>) {
  const before = (await gw.gateway.store.query({ limit: 1 }))[0]?.seq ?? 0;
  await fn();
  const all = await gw.gateway.store.query({ limit: 1000 });
  return all.filter((r) => r.seq > before);
}

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway();
  agentId = await gw.client().agentId();
});

afterAll(async () => {
  await gw?.close();
  await target?.close();
});

describe('relay over real sockets', () => {
  it('relays an allowed request and streams the body back, with one allowed record', async () => {
    const client = gw.client();
    const records = await newRecords(async () => {
      const res = await client.relay({
        method: 'POST',
        url: `${target.url}/echo?q=1`,
        headers: [
          ['content-type', 'text/plain'],
          ['authorization', 'Bearer target-token'],
        ],
        body: Buffer.from('hello target'),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('sphyr-outcome')).toBe('allowed');
      expect(res.headers.get('sphyr-request-id')).toMatch(/^req_/);
      expect(res.headers.get('x-target')).toBe('yes');
      const echo = (await res.json()) as {
        method: string;
        url: string;
        host: string;
        headers: Record<string, string>;
        bodyBytes: number;
      };
      expect(echo).toMatchObject({
        method: 'POST',
        url: '/echo?q=1',
        host: `127.0.0.1:${target.port}`,
        bodyBytes: 12,
      });
      // The caller's own headers reach the target; ours do not.
      expect(echo.headers.authorization).toBe('Bearer target-token');
      expect(
        Object.keys(echo.headers).filter((h) => h.startsWith('sphyr-') || h.startsWith('signature')),
      ).toEqual([]);
      expect(echo.headers['content-digest']).toBeUndefined();
    });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      kind: 'relay',
      outcome: 'allowed',
      status: 200,
      bytesIn: 12,
      method: 'POST',
    });
    expect(records[0]?.signature).toMatch(/^sig=:/);
    expect(records[0]?.urlHash).toMatch(/^[0-9a-f]{64}$/);
    // The full URL is not stored unless the policy says so.
    expect(records[0]?.url).toBeNull();
  });

  it('streams a large response through without changing a byte', async () => {
    const size = 20 * 1024 * 1024;
    const res = await gw.client().relay({ method: 'GET', url: `${target.url}/bytes/${size}` });
    expect(res.status).toBe(200);
    const hash = createHash('sha256');
    let got = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      got += chunk.length;
      hash.update(chunk);
    }
    expect(got).toBe(size);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(Buffer.alloc(size, 0x61)).digest('hex'));
    const [record] = await gw.gateway.store.query({ limit: 1 });
    expect(record?.bytesOut).toBe(size);
  });

  it('never lets a caller finish reading a response before its record is committed', async () => {
    const store = gw.gateway.store;
    const append = store.append.bind(store);
    // A slow disk: each commit takes 300 ms.
    store.append = async (record) => {
      await new Promise((r) => setTimeout(r, 300));
      return append(record);
    };
    try {
      const res = await gw.client().relay({ method: 'GET', url: `${target.url}/bytes/${256 * 1024}` });
      expect((await res.arrayBuffer()).byteLength).toBe(256 * 1024);
      const id = res.headers.get('sphyr-request-id');
      expect((await store.query({ limit: 5 })).map((r) => r.id)).toContain(id);
    } finally {
      store.append = append;
    }
  });

  it('removes Sphyr-* headers a target sends, so a server cannot forge a verdict', async () => {
    const res = await gw.client().relay({ method: 'GET', url: `${target.url}/fake-verdict` });
    expect(res.headers.get('sphyr-outcome')).toBe('allowed');
    expect(res.headers.get('sphyr-request-id')).not.toBe('forged');
    expect(res.headers.get('x-kept')).toBe('yes');
  });

  it('returns redirects instead of following them', async () => {
    const seenBefore = target.seen.length;
    const res = await gw.client().relay({
      method: 'GET',
      url: `${target.url}/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`,
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('http://169.254.169.254/latest/meta-data/');
    expect(target.seen.length).toBe(seenBefore + 1);
  });
});

describe('refusals: each its own code, each exactly one record', () => {
  const body = '{"model":"x","input":"hi"}';
  const cases: Array<[string, () => Parameters<typeof sendSigned>[0], string]> = [
    [
      'a tampered body',
      () => ({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId,
        target: `${target.url}/echo`,
        body: '{"model":"x","input":"HI"}',
        signWith: { body },
      }),
      'bad_digest',
    ],
    [
      'a tampered target',
      () => ({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId,
        target: `${target.url}/other`,
        body,
        signWith: { target: `${target.url}/echo` },
      }),
      'bad_signature',
    ],
    [
      'a wrong key',
      () => ({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId,
        target: `${target.url}/echo`,
        body,
        signWith: { key: new Uint8Array(32).fill(7) },
      }),
      'bad_signature',
    ],
    [
      'a stale created',
      () => ({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId,
        target: `${target.url}/echo`,
        body,
        signWith: { nowSeconds: Math.floor(Date.now() / 1000) - 3600 },
      }),
      'clock_skew',
    ],
    [
      'an unknown key id',
      () => ({
        gatewayUrl: gw.gateway.url,
        credential: generateCredential('key_not_on_gateway'),
        agentId,
        target: `${target.url}/echo`,
        body,
      }),
      'unknown_key',
    ],
    [
      'an unknown agent',
      () => ({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId: 'agt_unknown',
        target: `${target.url}/echo`,
        body,
      }),
      'agent_expired',
    ],
  ];

  it.each(cases)('answers 401 for %s', async (_name, build, code) => {
    const seen = target.seen.length;
    const records = await newRecords(async () => {
      const res = await sendSigned(build());
      expect(res.status).toBe(401);
      expect(res.headers.get('sphyr-outcome')).toBe('unauthorized');
      expect(await errorCode(res)).toBe(code);
    });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'unauthorized', reason: code, status: 401 });
    expect(target.seen.length).toBe(seen);
  });

  it('answers 401 replay for a nonce used twice, and relays only the first', async () => {
    const request = {
      gatewayUrl: gw.gateway.url,
      credential: gw.credential,
      agentId,
      target: `${target.url}/echo`,
      body,
      signWith: { nonce: 'cmVwbGF5LW5vbmNlLTAwMDAx' },
    };
    const seen = target.seen.length;
    const records = await newRecords(async () => {
      const first = await sendSigned(request);
      expect(first.status).toBe(200);
      await first.arrayBuffer();
      const second = await sendSigned(request);
      expect(second.status).toBe(401);
      expect(await errorCode(second)).toBe('replay');
    });
    expect(records.map((r) => r.reason).sort()).toEqual(['allowed', 'replay']);
    expect(target.seen.length).toBe(seen + 1);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'ssrf_metadata'],
    ['http://169.254.10.20/', 'ssrf_link_local'],
    ['http://[fe80::1]/', 'ssrf_link_local'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'ssrf_metadata'],
  ])('blocks %s with 403 %s', async (url, code) => {
    const records = await newRecords(async () => {
      const res = await sendSigned({
        gatewayUrl: gw.gateway.url,
        credential: gw.credential,
        agentId,
        method: 'GET',
        target: url,
      });
      expect(res.status).toBe(403);
      expect(res.headers.get('sphyr-outcome')).toBe('blocked');
      expect(await errorCode(res)).toBe(code);
    });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'blocked', reason: code, status: 403 });
  });

  it('surfaces a block to the signing client as SphyrPolicyError with the reason code', async () => {
    await expect(gw.client().relay({ method: 'GET', url: 'http://169.254.169.254/' })).rejects.toMatchObject({
      constructor: SphyrPolicyError,
      code: 'ssrf_metadata',
    });
  });

  it('keeps the log chain intact across all of it', async () => {
    expect(await recordCount()).toBeGreaterThan(10);
    expect((await gw.gateway.store.verify()).ok).toBe(true);
  });
});
