import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Every test run gets a temp folder of its own (TMPDIR, inherited by the test workers and every
 * process they spawn) and removes it at the end, so one `npm test` leaves nothing behind. Tests
 * still clean up after themselves; what they miss is named here so it can be fixed.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sphyr-test-run-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    const left = readdirSync(dir);
    if (left.length > 0) {
      process.stderr.write(
        `test temp dir: ${left.length} entr${left.length === 1 ? 'y' : 'ies'} left behind by tests (removed now): ${left.slice(0, 10).join(', ')}\n`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  };
}
