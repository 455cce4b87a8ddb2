/**
 * @module Config files behind symlinks (dotfile managers link `~/.cursor/mcp.json` into a repo).
 * Guard looks at a link itself and follows a chain one link at a time, so a dangling link is seen
 * as a link (not as "no file") and a loop is named instead of surfacing as ELOOP.
 */

// Synchronous on purpose, like the probes in targets.ts: a handful of tiny calls per file.
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { SphyrConfigError } from '../errors.js';

/** Linux gives up after 40 links (MAXSYMLINKS); so do we. */
const MAX_LINKS = 40;

export interface Resolved {
  /** Where the bytes live: `start` itself, or the end of its link chain (which may not exist). */
  file: string;
  /** The links followed from `start` on, in order; empty when `start` is no link. */
  links: string[];
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

function loop(start: string, chain: string[]): SphyrConfigError {
  return new SphyrConfigError(
    'config_link_loop',
    `${start} is a symbolic link loop (${chain.join(' → ')}); point the link at a file and run again`,
  );
}

/** Anything at `p`, a dangling link included (existsSync says false for one). */
export function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Follow `start` link by link to the file a client would read. Throws `config_link_loop`. */
export function resolveLinks(start: string): Resolved {
  const links: string[] = [];
  let current = start;
  for (;;) {
    let isLink: boolean;
    try {
      isLink = lstatSync(current).isSymbolicLink();
    } catch (error) {
      if (code(error) === 'ELOOP') throw loop(start, [...links, current]);
      // Missing (or a folder on the way is a file): the chain ends here, at a file to create.
      if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') return { file: current, links };
      throw new SphyrConfigError('config_unreadable', `${start}: cannot read it (${code(error)})`);
    }
    if (!isLink) return { file: current, links };
    if (links.includes(current) || links.length >= MAX_LINKS) throw loop(start, [...links, current]);
    links.push(current);
    let to: string;
    let folder: string;
    try {
      to = readlinkSync(current);
      // A relative link counts from the link's real folder, `..` included, as the OS does.
      folder = realpathSync(path.dirname(current));
    } catch (error) {
      if (code(error) === 'ELOOP') throw loop(start, [...links]);
      throw new SphyrConfigError('config_unreadable', `${start}: cannot read it (${code(error)})`);
    }
    current = physicalJoin(folder, to);
  }
}

/**
 * `rel` taken from the real folder `base` the way the kernel walks a path: each folder component is
 * followed through its links before a later `..` applies (so `cfg/..` is the parent of where `cfg`
 * leads, not `cfg`'s own folder); the last component is left for the caller to follow. A folder
 * that does not exist ends the physical walk (its file cannot exist either).
 */
function physicalJoin(base: string, rel: string): string {
  let dir = path.isAbsolute(rel) ? path.parse(rel).root : base;
  // Backslash is a file-name character on POSIX, a separator only on Windows.
  const parts = rel.split(process.platform === 'win32' ? /[\\/]+/ : /\/+/).filter((part) => part !== '');
  const last = parts.pop() ?? '.';
  for (const part of parts) {
    if (part === '.') continue;
    if (part === '..') {
      dir = path.dirname(dir);
      continue;
    }
    const next = path.join(dir, part);
    try {
      dir = realpathSync(next);
    } catch {
      dir = next;
    }
  }
  if (last === '.') return dir;
  if (last === '..') return path.dirname(dir);
  return path.join(dir, last);
}

/** The refusal for a link whose missing target cannot be created because its folder is missing. */
export function danglingError(link: string, file: string): SphyrConfigError {
  const folder = path.dirname(file);
  return new SphyrConfigError(
    'config_link_dangling',
    `${link} is a symbolic link to ${file}, which does not exist, and neither does its folder ${folder}; create ${folder} (or point the link elsewhere) and run again`,
  );
}
