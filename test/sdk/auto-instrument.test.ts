import http from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SphyrNetworkError, SphyrPolicyError } from '../../src/errors.js';
import autoInstrument, { type Instrumentation } from '../../src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const slots = globalThis as unknown as Record<symbol, unknown>;
/** A reference taken before instrumentation, as libraries that cache fetch at import time hold. */
const capturedFetch = globalThis.fetch;

let gw: TestGateway;
let target: TargetServer;
let handle: Instrumentation | undefined;

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw?.close();
  await target?.close();
});

afterEach(() => {
  handle?.restore();
  handle = undefined;
});

function instrument(extra: Parameters<typeof autoInstrument>[0] = {}) {
  handle = autoInstrument({
    gatewayUrl: gw.gateway.url,
    credential: gw.credential,
    instrumentHosts: ['127.0.0.1'], // the test target is local; send it through the gateway anyway
    agentName: 'sdk-test',
    warn: () => {},
    ...extra,
  });
  return handle;
}

async function lastRecords(n: number) {
  return (await gw.gateway.store.query({ limit: n })).reverse();
}

describe('autoInstrument() and global fetch', () => {
  it('relays fetch through the gateway, signed, and keeps what fetch promises', async () => {
    instrument();
    const seen = target.seen.length;
    const res = await fetch(`${target.url}/echo?q=1`, {
      method: 'POST',
      body: 'hello',
      headers: { 'x-app': '1' },
    });
    expect(res.status).toBe(200);
    expect(res.url).toBe(`${target.url}/echo?q=1`);
    const echo = (await res.json()) as { bodyBytes: number; headers: Record<string, string> };
    expect(echo.bodyBytes).toBe(5);
    expect(echo.headers['x-app']).toBe('1');
    expect(target.seen.length).toBe(seen + 1);
    const [record] = await lastRecords(1);
    expect(record).toMatchObject({ kind: 'relay', outcome: 'allowed', method: 'POST', bytesIn: 5 });
    expect(record?.signature).toMatch(/^sig=:/);
  });

  it('instruments a fetch reference captured before the call, Request objects and streamed bodies', async () => {
    instrument();
    const before = (await gw.gateway.store.query({ limit: 1 }))[0]?.seq ?? 0;
    await (await capturedFetch(`${target.url}/echo`)).text();
    await (await fetch(new Request(`${target.url}/echo`, { method: 'PUT', body: 'req' }))).text();
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('chunk1-'));
        c.enqueue(new TextEncoder().encode('chunk2'));
        c.close();
      },
    });
    const res = await fetch(`${target.url}/echo`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(((await res.json()) as { bodyBytes: number }).bodyBytes).toBe(13);
    const records = (await gw.gateway.store.query({ limit: 10 })).filter((r) => r.seq > before);
    expect(records).toHaveLength(3);
    expect(records.every((r) => r.outcome === 'allowed')).toBe(true);
  });

  it('throws SphyrPolicyError for a block, and screens every redirect hop', async () => {
    instrument();
    await expect(fetch('http://metadata.google.internal/computeMetadata/v1/')).rejects.toMatchObject({
      constructor: SphyrPolicyError,
      code: 'ssrf_metadata',
    });
    const res = await fetch(`${target.url}/redirect?to=${encodeURIComponent(`${target.url}/echo`)}`);
    expect(res.redirected).toBe(true);
    expect(res.url).toBe(`${target.url}/echo`);
    await res.text();
    await expect(
      fetch(`${target.url}/redirect?to=${encodeURIComponent('http://metadata.google.internal/')}`),
    ).rejects.toMatchObject({ code: 'ssrf_metadata' });
    const reasons = (await lastRecords(4)).map((r) => r.reason);
    expect(reasons).toEqual(['allowed', 'allowed', 'allowed', 'ssrf_metadata']);
  });

  it("keeps fetch's redirect modes: manual returns the 3xx, error rejects", async () => {
    instrument();
    const manual = await fetch(`${target.url}/redirect?to=%2Fecho`, { redirect: 'manual' });
    expect(manual.status).toBe(302);
    await expect(fetch(`${target.url}/redirect?to=%2Fecho`, { redirect: 'error' })).rejects.toThrow();
  });

  it('sends a hop a remote server chose through the gateway even when it points at a local address', async () => {
    // The instrumented target redirects to http://localhost:PORT, which alone would go direct.
    instrument();
    const seen = target.seen.length;
    // The test policy opens 127.0.0.0/8, so the gateway relays the hop (localhost is loopback).
    const hop = `http://localhost:${target.port}/echo`;
    const res = await fetch(`${target.url}/redirect?to=${encodeURIComponent(hop)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('sphyr-outcome')).toBe('allowed');
    await res.arrayBuffer();
    expect(target.seen.length).toBe(seen + 2);
    const [redirect, relayedHop] = await lastRecords(2);
    expect(redirect).toMatchObject({ kind: 'relay', host: new URL(target.url).host, status: 302 });
    expect(relayedHop).toMatchObject({ kind: 'relay', host: `localhost:${target.port}`, outcome: 'allowed' });
  });

  it('sends excluded hosts direct, never through the gateway', async () => {
    instrument({ instrumentHosts: [] });
    const before = (await gw.gateway.store.query({ limit: 1 }))[0]?.seq ?? 0;
    const seen = target.seen.length;
    const res = await fetch(`${target.url}/echo`);
    expect(res.headers.get('sphyr-outcome')).toBeNull();
    await res.text();
    expect(target.seen.length).toBe(seen + 1);
    expect((await gw.gateway.store.query({ limit: 1 }))[0]?.seq ?? 0).toBe(before);
  });

  it('an excluded local target that redirects to metadata is blocked at that hop', async () => {
    instrument({ instrumentHosts: [] });
    await expect(
      fetch(`${target.url}/redirect?to=${encodeURIComponent('http://metadata.google.internal/latest/')}`),
    ).rejects.toMatchObject({ code: 'ssrf_metadata' });
  });

  it('re-applies itself after a later setGlobalDispatcher and on a per-call dispatcher', async () => {
    await fetch('data:,');
    const Agent = (slots[DISPATCHER] as { constructor: new () => unknown }).constructor;
    instrument();
    slots[DISPATCHER] = new Agent(); // what npm undici's setGlobalDispatcher does
    await expect(fetch('http://metadata.google.internal/')).rejects.toMatchObject({ code: 'ssrf_metadata' });
    await expect(
      fetch('http://metadata.google.internal/', { dispatcher: new Agent() } as RequestInit),
    ).rejects.toMatchObject({ code: 'ssrf_metadata' });
  });

  it('is idempotent, and restore() puts fetch and the dispatcher back exactly', async () => {
    const originalFetch = globalThis.fetch;
    await fetch('data:,');
    const originalDispatcher = slots[DISPATCHER];
    const a = instrument();
    const b = autoInstrument({ gatewayUrl: gw.gateway.url, credential: gw.credential });
    const before = (await gw.gateway.store.query({ limit: 1 }))[0]?.seq ?? 0;
    await (await fetch(`${target.url}/echo`)).text();
    // Signed once, relayed once.
    expect((await gw.gateway.store.query({ limit: 5 })).filter((r) => r.seq > before)).toHaveLength(1);
    b.restore();
    expect(globalThis.fetch).not.toBe(originalFetch); // a is still in force
    a.restore();
    handle = undefined;
    expect(globalThis.fetch).toBe(originalFetch);
    expect(slots[DISPATCHER]).toBe(originalDispatcher);
    const seen = target.seen.length;
    const res = await fetch(`${target.url}/echo`);
    expect(res.headers.get('sphyr-outcome')).toBeNull();
    await res.text();
    expect(target.seen.length).toBe(seen + 1);
  });
});

describe('rate limits and aborts', () => {
  it('hands the caller the gateway 429 with Retry-After, as the quickstart says', async () => {
    const strict = await startTestGateway(
      '{"unsafeAllowRanges": ["127.0.0.0/8"], "rateLimits": {"perAgent": 1}}',
    );
    try {
      handle = autoInstrument({
        gatewayUrl: strict.gateway.url,
        credential: strict.credential,
        instrumentHosts: ['127.0.0.1'],
        warn: () => {},
      });
      const first = await fetch(`${target.url}/echo`);
      await first.text();
      const second = await fetch(`${target.url}/echo`);
      expect(second.status).toBe(429);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(second.headers.get('sphyr-outcome')).toBe('rate_limited');
      await second.text();
    } finally {
      handle?.restore();
      handle = undefined;
      await strict.close();
    }
  });

  it("rethrows an abort as the caller's own reason, not as a Sphyr error", async () => {
    const slow = http.createServer((_req, res) => {
      setTimeout(() => res.end('late'), 2000).unref();
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      handle = instrument();
      const port = (slow.address() as AddressInfo).port;
      const error = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(150) }).catch(
        (e) => e,
      );
      expect(error.name).toBe('TimeoutError');
      const controller = new AbortController();
      const pending = fetch(`http://127.0.0.1:${port}/`, { signal: controller.signal });
      controller.abort(new Error('user cancelled'));
      await expect(pending).rejects.toThrow('user cancelled');
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });
});

describe('fail closed', () => {
  it('throws SphyrNetworkError and sends nothing when the gateway is down; failClosed: false goes direct', async () => {
    const canary = await startTarget();
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadGateway = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    try {
      handle = autoInstrument({
        gatewayUrl: deadGateway,
        credential: gw.credential,
        instrumentHosts: ['127.0.0.1'],
        warn: () => {},
      });
      const calls = [
        () => fetch(`${canary.url}/echo`),
        () => capturedFetch(`${canary.url}/echo`),
        () => axios.get(`${canary.url}/echo`),
      ];
      for (const call of calls) {
        const error = await call().catch((e) => e);
        const sphyr = error instanceof SphyrNetworkError ? error : error.cause;
        expect(sphyr).toBeInstanceOf(SphyrNetworkError);
        expect(sphyr.code).toBe('gateway_unreachable');
      }
      expect(canary.seen).toHaveLength(0);
      handle.restore();
      const warnings: string[] = [];
      handle = autoInstrument({
        gatewayUrl: deadGateway,
        credential: gw.credential,
        instrumentHosts: ['127.0.0.1'],
        failClosed: false,
        warn: (m) => warnings.push(m),
      });
      expect((await fetch(`${canary.url}/echo`)).status).toBe(200);
      expect((await fetch(`${canary.url}/echo`)).status).toBe(200);
      expect((await axios.get(`${canary.url}/echo`)).status).toBe(200);
      expect(canary.seen).toHaveLength(3);
      expect(warnings.filter((w) => w.includes('DIRECT'))).toHaveLength(1);
    } finally {
      await canary.close();
    }
  });

  it('refuses instrumented requests with a clear error when no credential is configured', async () => {
    const seen = target.seen.length;
    handle = autoInstrument({
      gatewayUrl: gw.gateway.url,
      credential: undefined,
      instrumentHosts: ['127.0.0.1'],
      warn: () => {},
    });
    const error = await fetch(`${target.url}/echo`).catch((e) => e);
    expect(error.code).toBe('not_configured');
    expect(error.message).toContain('sphyr login');
    expect(target.seen.length).toBe(seen);
  });
});
