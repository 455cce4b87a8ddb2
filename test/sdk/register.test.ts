import { execFile } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const run = promisify(execFile);
const REGISTER = pathToFileURL(path.join(ROOT, 'packages', 'sdk', 'dist', 'register.js')).href;

let gw: TestGateway;
let target: TargetServer;

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw?.close();
  await target?.close();
});

describe('node --import @sphyr/sdk/register', () => {
  it('leaves `node -e <code> <args>` working (argv[1] is an argument there, not a script)', async () => {
    // Found under sphyr-mcp's NODE_OPTIONS: a relative argv[1] made the axios scan throw at start.
    for (const args of [
      ['-e', 'console.log("ran")', 'some-arg'],
      ['-e', 'console.log("ran")', '../x/y.js'],
    ]) {
      const { stdout } = await run(process.execPath, [`--import=${REGISTER}`, ...args], {
        env: {
          PATH: process.env.PATH,
          HOME: await tempDir('sphyr-home-'),
          SPHYR_GATEWAY_URL: gw.gateway.url,
          SPHYR_CREDENTIAL: gw.credential.reveal(),
        },
      });
      expect(stdout.trim()).toBe('ran');
    }
  });

  it('instruments an unmodified program from SPHYR_* variables', async () => {
    const seen = target.seen.length;
    const { stdout } = await run(
      process.execPath,
      [`--import=${REGISTER}`, path.join(ROOT, 'fixtures', 'sdk', 'fetch-twice.mjs'), target.url],
      {
        env: {
          PATH: process.env.PATH,
          HOME: await tempDir('sphyr-home-'),
          SPHYR_GATEWAY_URL: gw.gateway.url,
          SPHYR_CREDENTIAL: gw.credential.reveal(),
          SPHYR_INSTRUMENT_HOSTS: '127.0.0.1',
          SPHYR_AGENT_NAME: 'register-child',
        },
      },
    );
    const [first, second] = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(first).toEqual({ status: 200, outcome: 'allowed' });
    expect(second).toEqual({ blocked: true, name: 'SphyrPolicyError', code: 'ssrf_metadata' });
    expect(target.seen.length).toBe(seen + 1);
    const records = (await gw.gateway.store.query({ limit: 2 })).reverse();
    expect(records.map((r) => [r.outcome, r.reason])).toEqual([
      ['allowed', 'allowed'],
      ['blocked', 'ssrf_metadata'],
    ]);
  });

  it('routes fetch, a kept fetch reference, axios in both builds and a streamed upload: each request via the gateway or direct, never both, never neither', async () => {
    const mix = await startTestGateway(
      '{"unsafeAllowRanges": ["127.0.0.0/8"], "logFullUrl": true, "rateLimits": {"perAgent": 1000}}',
    );
    try {
      const seenBefore = target.seen.length;
      const { stdout } = await run(
        process.execPath,
        [
          `--import=${REGISTER}`,
          path.join(ROOT, 'fixtures', 'sdk', 'register-mix.mjs'),
          target.url,
          `http://localhost:${target.port}`,
        ],
        {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH,
            HOME: await tempDir('sphyr-home-'),
            SPHYR_GATEWAY_URL: mix.gateway.url,
            SPHYR_CREDENTIAL: mix.credential.reveal(),
            SPHYR_INSTRUMENT_HOSTS: '127.0.0.1',
          },
        },
      );
      expect(JSON.parse(stdout)).toEqual({
        fetch: 200,
        'kept-fetch': 200,
        'axios-esm': 200,
        'axios-cjs': 200,
        'stream-upload': 'chunk-0;chunk-1;chunk-2;chunk-3;'.length,
        'direct-fetch': 200,
        'direct-axios': 200,
        blocked: { error: 'SphyrPolicyError', code: 'ssrf_metadata' },
      });
      // The target's own access log and the gateway's log, side by side.
      const atTarget = target.seen.slice(seenBefore).map((s) => s.url.replace(/^\/echo\//, ''));
      const viaGateway = (await mix.gateway.store.query({ limit: 50 }))
        .filter((r) => r.outcome === 'allowed')
        .map((r) => new URL(r.url as string).pathname.replace(/^\/echo\//, ''));
      const relayed = ['fetch', 'kept-fetch', 'axios-esm', 'axios-cjs', 'stream-upload'];
      const direct = ['direct-fetch', 'direct-axios'];
      expect([...viaGateway].sort()).toEqual([...relayed].sort());
      expect([...atTarget].sort()).toEqual([...relayed, ...direct].sort());
      for (const name of direct) expect(viaGateway).not.toContain(name);
      expect(
        (await mix.gateway.store.query({ limit: 50 })).every((r) => r.signature?.startsWith('sig=:')),
      ).toBe(true);
    } finally {
      await mix.close();
    }
  });

  it('fails closed with a clear message when nothing is configured', async () => {
    const seen = target.seen.length;
    const { stdout, stderr } = await run(
      process.execPath,
      [`--import=${REGISTER}`, path.join(ROOT, 'fixtures', 'sdk', 'fetch-twice.mjs'), target.url],
      {
        env: {
          PATH: process.env.PATH,
          HOME: await tempDir('sphyr-home-'),
          SPHYR_INSTRUMENT_HOSTS: '127.0.0.1',
        },
      },
    ).catch((e) => e as { stdout: string; stderr: string });
    expect(stderr).toContain('not signing requests: no credential');
    expect(stdout).not.toContain('"status":200');
    expect(target.seen.length).toBe(seen);
  });
});
