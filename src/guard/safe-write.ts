/**
 * @module Writing a user's config file without losing it: a timestamped backup, a temp file in the
 * same folder with the same mode, fsync, a last compare against what we planned from (another
 * writer wins and we stop), then rename.
 */

import { randomBytes } from 'node:crypto';
import { constants, readFileSync, statSync } from 'node:fs';
import { access, chmod, copyFile, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { SphyrConfigError } from '../errors.js';

/** The file we plan from: its bytes (undefined when missing) and mode. */
export interface Snapshot {
  path: string;
  raw: string | undefined;
  mode: number | undefined;
}

export async function snapshot(file: string): Promise<Snapshot> {
  let info: ReturnType<typeof statSync>;
  try {
    info = statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path: file, raw: undefined, mode: undefined };
    throw new SphyrConfigError('config_unreadable', `${file}: cannot read it (${code})`);
  }
  if (info?.isDirectory()) {
    throw new SphyrConfigError(
      'config_is_directory',
      `${file} is a directory, not a config file; move it aside and run again`,
    );
  }
  try {
    return { path: file, raw: readFileSync(file, 'utf8'), mode: (info?.mode ?? 0) & 0o777 };
  } catch (error) {
    throw new SphyrConfigError(
      'config_unreadable',
      `${file}: cannot read it (${(error as NodeJS.ErrnoException).code})`,
    );
  }
}

/** Fails before anything is written if the file (or its folder, for a new file) cannot be written. */
export async function assertWritable(snap: Snapshot): Promise<void> {
  // A file without its owner's write bit says "do not touch", even to root (whose access() says yes).
  if (snap.raw !== undefined && snap.mode !== undefined && (snap.mode & 0o200) === 0) {
    throw new SphyrConfigError(
      'config_read_only',
      `${snap.path} is read-only; make it writable (chmod u+w) or skip this client with --client`,
    );
  }
  const target =
    snap.raw === undefined ? nearestExisting(path.dirname(snap.path)) : Promise.resolve(snap.path);
  const where = await target;
  try {
    await access(where, constants.W_OK);
  } catch {
    throw new SphyrConfigError(
      'config_read_only',
      snap.raw === undefined
        ? `${snap.path}: cannot create it, ${where} is not writable`
        : `${snap.path} is read-only; make it writable (chmod u+w) or skip this client with --client`,
    );
  }
}

async function nearestExisting(dir: string): Promise<string> {
  let current = dir;
  for (;;) {
    try {
      await stat(current);
      return current;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

function stamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Write `text` in place of the snapshot; returns the backup's path (none for a new file). */
export async function writeSafely(
  snap: Snapshot,
  text: string,
  now: Date,
  mode?: number,
): Promise<string | undefined> {
  const dir = path.dirname(snap.path);
  await mkdir(dir, { recursive: true });
  let backup: string | undefined;
  if (snap.raw !== undefined) {
    backup = `${snap.path}.sphyr-backup-${stamp(now)}`;
    await copyFile(snap.path, backup, constants.COPYFILE_EXCL).catch(async (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      backup = `${backup}-${randomBytes(3).toString('hex')}`;
      await copyFile(snap.path, backup as string, constants.COPYFILE_EXCL);
    });
    await chmod(backup as string, snap.mode ?? 0o600);
  }
  const temp = path.join(
    dir,
    `.${path.basename(snap.path)}.sphyr-${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  );
  const fileMode = mode ?? snap.mode ?? 0o644;
  const handle = await open(temp, 'wx', fileMode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await chmod(temp, fileMode); // open's mode is filtered by the umask
    const current = await readFile(snap.path, 'utf8').catch(() => undefined);
    if (current !== snap.raw) {
      throw new SphyrConfigError(
        'config_changed',
        `${snap.path} changed while sphyr was editing it (is the app running and rewriting it?); nothing was written — run the command again`,
      );
    }
    await rename(temp, snap.path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    if (backup) await unlink(backup).catch(() => {});
    throw error;
  }
  return backup;
}
