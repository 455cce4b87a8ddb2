import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const run = promisify(execFile);

let gw: TestGateway;
let target: TargetServer;
let steps: Record<string, Record<string, unknown>>;
let relayed: string[];

beforeAll(async () => {
  target = await startTarget();
  // More than 10 requests a second from one agent: raise the per-agent limit for this script.
  gw = await startTestGateway('{"unsafeAllowRanges": ["127.0.0.0/8"], "rateLimits": {"perAgent": 1000}}');
  const { stdout } = await run(
    process.execPath,
    [path.join(ROOT, 'fixtures', 'sdk', 'axios-both.mjs'), target.url],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: await tempDir('sphyr-home-'),
        SPHYR_GATEWAY_URL: gw.gateway.url,
        SPHYR_CREDENTIAL: gw.credential.reveal(),
      },
    },
  );
  steps = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .map((s) => [s.step as string, s]),
  );
  relayed = (await gw.gateway.store.query({ limit: 100 })).map((r) => `${r.outcome}:${r.reason}:${r.status}`);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await target?.close();
});

function targetSaw(via: string): number {
  return target.seen.filter((s) => s.url.includes(`via=${via}`)).length;
}

describe('axios 1.x under autoInstrument()', () => {
  it.each(['esm', 'cjs', 'early', 'callable', 'fetch'])('routes the %s path through the gateway', (via) => {
    const step = Object.values(steps).find((s) => JSON.stringify(s.data ?? '').includes(`via=${via}`));
    expect(step).toMatchObject({ status: 200, outcome: 'allowed' });
    expect(targetSaw(via)).toBe(1);
  });

  it('sends the JSON body axios serialised, and a raw string body', () => {
    expect((steps.esm?.data as { bodyBytes: number } | undefined)?.bodyBytes).toBe(
      JSON.stringify({ hello: 'esm' }).length,
    );
    expect(steps['early-callable']?.data as { method: string; bodyBytes: number }).toMatchObject({
      method: 'PUT',
      bodyBytes: 8,
    });
  });

  it('follows redirects hop by hop through the gateway, and honours maxRedirects: 0', () => {
    expect(steps.redirect).toMatchObject({ status: 200, outcome: 'allowed' });
    expect(targetSaw('redirect')).toBe(1);
    expect(steps['max-redirects-0']).toMatchObject({ error: 'AxiosError', status: 302 });
  });

  it('keeps validateStatus: a 404 rejects with AxiosError unless the caller accepts it', () => {
    expect(steps['validate-status']).toEqual({
      step: 'validate-status',
      error: 'AxiosError',
      code: 'ERR_BAD_REQUEST',
      status: 404,
    });
    expect(steps['validate-status-custom']).toMatchObject({ status: 404, data: 'status page' });
  });

  it('blocks with SphyrPolicyError, at the first request and at a redirect hop', () => {
    expect(steps.blocked).toMatchObject({ error: 'SphyrPolicyError', code: 'ssrf_metadata' });
    expect(steps['blocked-hop']).toMatchObject({ error: 'SphyrPolicyError', code: 'ssrf_metadata' });
    expect(relayed.filter((r) => r === 'blocked:ssrf_metadata:403')).toHaveLength(2);
  });

  it('goes back to plain axios after restore()', () => {
    expect(steps['restored-identity']).toEqual({ step: 'restored-identity', same: true });
    expect(steps.restored).toMatchObject({ status: 200, outcome: null });
    expect(targetSaw('restored')).toBe(1);
  });

  it('logged every instrumented request exactly once', () => {
    // esm, cjs, early, callable, fetch, redirect (2 hops), max-redirects-0, 404, 404, blocked, blocked-hop (2)
    expect(relayed).toHaveLength(13);
  });
});
