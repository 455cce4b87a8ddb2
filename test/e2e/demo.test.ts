import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

const run = promisify(execFile);

describe('the README demo (npm run demo)', () => {
  it('starts a gateway, relays one request, blocks one, and shows both records with a verified chain', async () => {
    const tmp = await tempDir('sphyr-demo-tmp-');
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'scripts', 'demo.mjs')], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp },
    });
    expect(stdout).toMatch(/HTTP 200, Sphyr-Outcome: allowed, body: \{"hello":"from the target"/);
    expect(stdout).toContain('SphyrPolicyError ssrf_metadata');
    expect(stdout).toMatch(/relay\s+allowed\s+allowed\s+200\s+GET 127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/relay\s+blocked\s+ssrf_metadata\s+403\s+GET 169\.254\.169\.254/);
    expect(stdout).toContain('log verified: 2 records intact');
    expect(stdout).not.toMatch(/sphyr\.key_[^.\s]+\.[A-Za-z0-9_-]{43}/); // the secret is never printed
    // Its data dir holds a master.key: gone unless --keep.
    expect(await readdir(tmp)).toEqual([]);
  }, 60_000);
});
