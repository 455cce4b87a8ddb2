/**
 * @module Writing a user's config file without losing it: a timestamped backup, a temp file in the
 * same folder with the same mode, fsync, a last compare against what we planned from (another
 * writer wins and we stop), then rename. A symlinked config is written at the end of its link
 * chain, so the link stays a link (dangling or not).
 */

import { randomBytes } from 'node:crypto';
import { constants, readFileSync, statSync } from 'node:fs';
import {
  access,
  chmod,
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  unlink,
} from 'node:fs/promises';
import path from 'node:path';
import { SphyrConfigError } from '../errors.js';
import { danglingError, lexists, resolveLinks } from './links.js';

/** The file we plan from: its bytes (undefined when missing) and mode. */
export interface Snapshot {
  /** The config path, as the client reads it; may be a symlink. */
  path: string;
  /** Where its bytes live: `path`, or the end of its link chain. Written and deleted here, never the link. */
  file: string;
  /** `path` is a symlink (or a chain of them) ending at `file`. */
  linked: boolean;
  raw: string | undefined;
  mode: number | undefined;
  /** How many names the file has: more than one means it is written in place (a rename would split them). */
  hardLinks?: number;
}

/** A config path with nothing there (before it was read, or when reading failed). */
export function emptySnapshot(configPath: string): Snapshot {
  return { path: configPath, file: configPath, linked: false, raw: undefined, mode: undefined };
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

export async function snapshot(configPath: string): Promise<Snapshot> {
  const { file, links } = resolveLinks(configPath);
  const linked = links.length > 0;
  const name = linked ? `${configPath} (a symbolic link to ${file})` : configPath;
  let info: ReturnType<typeof statSync>;
  try {
    info = statSync(file);
  } catch (error) {
    if (errno(error) === 'ENOENT') return { path: configPath, file, linked, raw: undefined, mode: undefined };
    throw new SphyrConfigError('config_unreadable', `${name}: cannot read it (${errno(error)})`);
  }
  if (info?.isDirectory()) {
    throw new SphyrConfigError(
      'config_is_directory',
      `${name} is a directory, not a config file; move it aside and run again`,
    );
  }
  try {
    return {
      path: configPath,
      file,
      linked,
      raw: readFileSync(file, 'utf8'),
      mode: (info?.mode ?? 0) & 0o777,
      hardLinks: info?.nlink ?? 1,
    };
  } catch (error) {
    throw new SphyrConfigError('config_unreadable', `${name}: cannot read it (${errno(error)})`);
  }
}

function isFolder(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A missing file can be created: through a link only into a folder that exists (we never invent
 * folders at a link's far end); otherwise its nearest existing ancestor is no dangling link.
 */
export function assertCreatable(snap: Snapshot): void {
  if (snap.raw !== undefined) return;
  if (snap.linked) {
    if (!isFolder(path.dirname(snap.file))) throw danglingError(snap.path, snap.file);
    return;
  }
  for (let dir = path.dirname(snap.path); ; dir = path.dirname(dir)) {
    if (lexists(dir)) {
      const end = resolveLinks(dir).file;
      if (!lexists(end)) {
        throw new SphyrConfigError(
          'config_link_dangling',
          `${snap.path}: cannot create it, its folder ${dir} is a symbolic link to ${end}, which does not exist; create ${end} (or point the link elsewhere) and run again`,
        );
      }
      return;
    }
    if (path.dirname(dir) === dir) return;
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
  assertCreatable(snap);
  const where =
    snap.raw !== undefined ? snap.file : snap.linked ? path.dirname(snap.file) : nearestExisting(snap.path);
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
  // The backup of a linked file goes next to the link (see writeSafely): that folder must take it.
  if (snap.raw !== undefined && snap.linked) {
    const folder = path.dirname(snap.path);
    await access(folder, constants.W_OK).catch(() => {
      throw new SphyrConfigError(
        'config_read_only',
        `${snap.path}: cannot write its backup, ${folder} is not writable`,
      );
    });
  }
}

/** The closest folder above a file to create that is there (through links). */
function nearestExisting(file: string): string {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (isFolder(dir) || path.dirname(dir) === dir) return dir;
  }
}

function stamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * Write `text` in place of the snapshot; returns the backup's path (none for a new file). The new
 * bytes go to `snap.file` (a link's far end); the backup goes next to `snap.path`, where the user
 * looks for it, and never into a dotfiles folder that may be a (public) repository.
 */
export async function writeSafely(
  snap: Snapshot,
  text: string,
  now: Date,
  mode?: number,
): Promise<string | undefined> {
  assertCreatable(snap);
  const dir = path.dirname(snap.file);
  // A link's target folder must already exist (assertCreatable); a plain path gets its folders.
  // Never writable by others, whatever the umask: whoever can write the folder can swap the config.
  if (!snap.linked) await mkdir(dir, { recursive: true, mode: 0o755 });
  let backup: string | undefined;
  if (snap.raw !== undefined) {
    backup = `${snap.path}.sphyr-backup-${stamp(now)}`;
    // copyFile reads through links: the backup is a plain copy of the bytes, not another link.
    await copyFile(snap.file, backup, constants.COPYFILE_EXCL).catch(async (error) => {
      if (errno(error) !== 'EEXIST') throw error;
      backup = `${backup}-${randomBytes(3).toString('hex')}`;
      await copyFile(snap.file, backup as string, constants.COPYFILE_EXCL);
    });
    // Owner-only, whatever the file's mode: config files carry tokens (ours or other servers').
    await chmod(backup as string, 0o600);
  }
  if (snap.raw !== undefined && (snap.hardLinks ?? 1) > 1) {
    // A hard-linked file (a dotfiles repo's copy by another name): rename would give this name a new
    // inode and leave the other name with the old bytes, so write the same inode, after the backup.
    try {
      await assertUnchanged(snap);
      const inPlace = await open(snap.file, 'r+');
      try {
        await inPlace.truncate(0);
        await inPlace.write(text, 0, 'utf8');
        await inPlace.sync();
      } finally {
        await inPlace.close();
      }
    } catch (error) {
      if (backup) await unlink(backup).catch(() => {});
      throw error;
    }
    return backup;
  }
  const temp = path.join(
    dir,
    `.${path.basename(snap.file)}.sphyr-${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
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
    await assertUnchanged(snap);
    await rename(temp, snap.file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    if (backup) await unlink(backup).catch(() => {});
    throw error;
  }
  return backup;
}

/** How many backups of one config file guard keeps; older ones are deleted after each write. */
export const BACKUPS_KEPT = 3;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Delete all but the newest `keep` of guard's backups of `configPath` (its own
 * `<name>.sphyr-backup-<stamp>[-<hex>]` files only, never anything else); returns what it deleted.
 */
export async function pruneBackups(configPath: string, keep = BACKUPS_KEPT): Promise<string[]> {
  const dir = path.dirname(configPath);
  const ours = new RegExp(
    `^${escapeRegExp(path.basename(configPath))}\\.sphyr-backup-\\d{8}T\\d{6}Z(-[0-9a-f]{6})?$`,
  );
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => ours.test(n));
  } catch {
    return [];
  }
  const found: Array<{ file: string; at: number }> = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const info = await lstat(file).catch(() => undefined);
    if (info?.isFile()) found.push({ file, at: info.mtimeMs });
  }
  // Oldest first: by when it was written, then by name (the stamp) for equal times.
  found.sort((a, b) => a.at - b.at || a.file.localeCompare(b.file));
  const old = found.slice(0, Math.max(0, found.length - keep)).map((f) => f.file);
  for (const file of old) await unlink(file).catch(() => {});
  return old;
}

/** The last compare: the path still leads to the same file (links included) with the same bytes. */
export async function assertUnchanged(snap: Snapshot): Promise<void> {
  const now = resolveLinks(snap.path);
  const moved = now.file !== snap.file || now.links.length > 0 !== snap.linked;
  if (moved || (await readFile(snap.file, 'utf8').catch(() => undefined)) !== snap.raw) {
    throw new SphyrConfigError(
      'config_changed',
      `${snap.path} changed while sphyr was editing it (is the app running and rewriting it?); nothing was written — run the command again`,
    );
  }
}
