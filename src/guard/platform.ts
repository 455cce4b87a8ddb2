/** @module The machine guard edits, injected so tests never touch the real home directory. */

import path from 'node:path';
import type { PathContext, Platform } from '../../clients/types.js';

export interface GuardHost extends PathContext {
  /**
   * Where the described machine's filesystem is mounted here. Absent: paths are used as they are.
   * Tests set it to a temp dir so Windows and macOS layouts are real files on Linux.
   */
  fsRoot?: string;
  now(): Date;
}

/** The local path for a path of the described platform (under `fsRoot` when set). */
export function localPath(host: GuardHost, p: string): string {
  if (!host.fsRoot) return p;
  const parts = p
    .replace(/^([A-Za-z]):/, '$1')
    .split(/[\\/]+/)
    .filter(Boolean);
  return path.join(host.fsRoot, ...parts);
}

export function currentPlatform(): Platform {
  return process.platform === 'win32' || process.platform === 'darwin' ? process.platform : 'linux';
}
