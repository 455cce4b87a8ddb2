import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SphyrPolicyError } from '../../src/errors.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

/**
 * Issue 13 item 22 over real sockets: `localhost` is loopback by definition (RFC 6761), so a lab
 * policy that opens 127.0.0.0/8 reaches `http://localhost:<port>/` as it reaches 127.0.0.1, the
 * loop guard still holds, and without such a range it is refused like 127.0.0.1.
 */
let target: TargetServer;
let lab: TestGateway;
let closed: TestGateway;

beforeAll(async () => {
  target = await startTarget();
  lab = await startTestGateway('{"unsafeAllowRanges": ["127.0.0.0/8"]}');
  closed = await startTestGateway('{}');
});

afterAll(async () => {
  await lab?.close();
  await closed?.close();
  await target?.close();
});

async function outcome(gw: TestGateway, url: string): Promise<string> {
  try {
    const res = await gw.client().relay({ method: 'GET', url });
    const body = await res.text();
    return `HTTP ${res.status}${body.includes('"url"') ? ' echo' : ''}`;
  } catch (error) {
    if (error instanceof SphyrPolicyError) return error.code;
    throw error;
  }
}

describe('a lab policy that opens loopback', () => {
  it.each([
    'http://localhost:PORT/echo',
    'http://localhost.:PORT/echo',
    'http://app.localhost:PORT/echo',
    'http://127.0.0.1:PORT/echo',
  ])('relays %s to the loopback target', async (template) => {
    const url = template.replace('PORT', String(target.port));
    const seen = target.seen.length;
    expect(await outcome(lab, url)).toBe('HTTP 200 echo');
    expect(target.seen.length).toBe(seen + 1);
    const [record] = await lab.gateway.store.query({ limit: 1 });
    expect(record).toMatchObject({ outcome: 'allowed', host: new URL(url).host });
  });

  it('still never relays to the gateway itself through localhost', async () => {
    expect(await outcome(lab, `http://localhost:${lab.gateway.port}/healthz`)).toBe('ssrf_self');
  });

  it('still refuses every other internal name', async () => {
    expect(await outcome(lab, `http://db.internal:${target.port}/echo`)).toBe('ssrf_internal_name');
    expect(await outcome(lab, `http://printer.local:${target.port}/echo`)).toBe('ssrf_internal_name');
  });
});

describe('a policy that does not open loopback', () => {
  it('refuses localhost as it refuses 127.0.0.1: ssrf_loopback', async () => {
    const seen = target.seen.length;
    expect(await outcome(closed, `http://localhost:${target.port}/echo`)).toBe('ssrf_loopback');
    expect(await outcome(closed, `http://127.0.0.1:${target.port}/echo`)).toBe('ssrf_loopback');
    expect(target.seen.length).toBe(seen);
  });
});
