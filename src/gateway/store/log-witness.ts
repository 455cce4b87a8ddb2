import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SphyrConfigError } from '../../errors.js';

/**
 * `log-head.json` beside master.key: the log head, MAC'd like the copy in sphyr.db, rewritten at
 * most once a second and on close. It has master.key's protection (0600, in the data dir), so
 * whoever can only write sphyr.db cannot roll it back: deleting the newest records and putting back
 * an older head that the gateway itself once wrote into sphyr.db still shows. Whoever can replace
 * files in the data dir can replace master.key too; nothing inside the data dir helps against that.
 */
export const WITNESS_FILE = 'log-head.json';

export function witnessPath(dataDir: string): string {
  return path.join(dataDir, WITNESS_FILE);
}

/** The file's text, or undefined when there is none; one that cannot be read stops everything. */
export function readWitness(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new SphyrConfigError(
      'data_dir_unreadable',
      `${file}: cannot be read (${code}); check its permissions`,
      {
        cause: error,
      },
    );
  }
}

/** Replace the file atomically (temp file + rename), created 0600. Sync: it is small and rare. */
export function writeWitness(file: string, sealedHead: string): void {
  const temp = `${file}.tmp`;
  rmSync(temp, { force: true });
  writeFileSync(temp, `${sealedHead}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(temp, 0o600); // whatever the umask
  renameSync(temp, file);
}
