import { execFile } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const run = promisify(execFile);
const REGISTER = pathToFileURL(path.join(ROOT, 'dist', 'src', 'sdk', 'register.js')).href;

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
