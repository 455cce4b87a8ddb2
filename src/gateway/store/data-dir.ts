import { chmod, mkdir, open, stat } from 'node:fs/promises';
import { SphyrConfigError } from '../../errors.js';

/**
 * The data dir holds the admin password hash, sessions, sealed secrets, the log and the key they
 * are all derived from, so everything Sphyr creates in it is 0600 (files) or 0700 (folders), set
 * explicitly so no umask can widen it. Windows has no mode bits worth checking.
 */
const CHECK_MODES = process.platform !== 'win32';

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/**
 * Create the data dir (0700) if needed. One that already exists is the operator's: it is not
 * changed, but a warning says so when other users can open it.
 */
export async function prepareDataDir(dataDir: string, warn: (m: string) => void): Promise<void> {
  let created: string | undefined;
  try {
    created = await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new SphyrConfigError(
      'data_dir_unwritable',
      `data dir ${dataDir} cannot be created (${errno(error)}); choose another with --data-dir`,
      { cause: error },
    );
  }
  if (!CHECK_MODES) return;
  if (created !== undefined) {
    await chmod(dataDir, 0o700);
    return;
  }
  const { mode } = await stat(dataDir);
  if (mode & 0o077) {
    warn(
      `data dir ${dataDir} is open to other users (mode ${octal(mode)}); it holds the log, sessions and keys. Run: chmod 700 ${dataDir}`,
    );
  }
}

/** A folder of Sphyr's own inside the data dir: created 0700, tightened to 0700 if it was left open. */
export async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (CHECK_MODES && (await stat(dir)).mode & 0o077) await chmod(dir, 0o700);
}

/**
 * Refuse a key file other users could read or replace: whoever read it can decrypt the API secrets
 * and forge the log, so starting as if nothing happened would hide that.
 */
export async function assertPrivateKeyFile(file: string): Promise<void> {
  if (!CHECK_MODES) return;
  const { mode } = await stat(file);
  if (mode & 0o077) {
    throw new SphyrConfigError(
      'master_key_exposed',
      `${file} is open to other users (mode ${octal(mode)}). Anyone who read it can decrypt the API secrets and forge the log. Run: chmod 600 ${file}; if others may have read it, create new keys and revoke the old ones`,
    );
  }
}

/**
 * Make sure `file` exists with mode 0600 before SQLite opens it: SQLite creates its own files 0644
 * minus the umask, but gives `-wal`, `-shm` and `-journal` the database file's mode. A file that an
 * older version left open is tightened, and `tightened` lists it so the caller can say so.
 */
export async function privateFile(file: string): Promise<{ tightenedFrom?: string }> {
  const handle = await open(file, 'a', 0o600);
  try {
    if (!CHECK_MODES) return {};
    const { mode } = await handle.stat();
    if ((mode & 0o777) === 0o600) return {};
    await handle.chmod(0o600);
    return mode & 0o077 ? { tightenedFrom: octal(mode) } : {};
  } finally {
    await handle.close();
  }
}

/** Tighten an existing file to 0600 (SQLite's `-wal`/`-shm` from an older version); absent is fine. */
export async function tightenIfPresent(file: string): Promise<{ tightenedFrom?: string }> {
  if (!CHECK_MODES) return {};
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (error) {
    if (errno(error) === 'ENOENT') return {};
    throw error;
  }
  if ((mode & 0o777) === 0o600) return {};
  await chmod(file, 0o600);
  return mode & 0o077 ? { tightenedFrom: octal(mode) } : {};
}
