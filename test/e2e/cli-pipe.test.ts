import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SPHYR_BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

/** `sphyr … | head -1`: the reader closes the pipe early; sphyr ends quietly (found by a new user). */
async function closedEarly(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [SPHYR_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  // Read the first chunk, then close our end, as `head -1` does.
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stderr };
}

describe('stdout closed by the reader', () => {
  it('guard status | head -1 and guard init --dry-run | head -1 end without a stack trace', async () => {
    const home = await tempDir('sphyr-pipe-');
    for (const args of [
      ['guard', 'status'],
      ['guard', 'init', '--dry-run', '--client', 'cursor', '--client', 'codex', '--client', 'zed'],
      ['--help'],
    ]) {
      const { code, stderr } = await closedEarly(args, { HOME: home });
      expect({ args, stderr }).toEqual({ args, stderr: expect.not.stringMatching(/EPIPE|\n\s+at /) });
      expect(code === 0 || code === 1).toBe(true);
    }
  });
});
