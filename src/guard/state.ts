/**
 * @module What `guard init` changed, so `guard remove` can undo exactly that: ~/.sphyr/guard-state.json,
 * 0600 (it holds the previous text of wrapped entries, which may carry their tokens).
 */

import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SphyrConfigError } from '../errors.js';
import type { EntryUndo } from './format-editor.js';
import { type GuardHost, localPath } from './platform.js';

export interface StateEntry {
  client: string;
  /** The config file, as the described platform spells it. */
  file: string;
  /** The entry's name: `sphyr`, or a wrapped server's name. */
  name: string;
  /** The servers object holding it, when not the client's own (Claude Code's `projects[<dir>].mcpServers`). */
  serversKey?: string[];
  kind: 'sphyr' | 'wrapped';
  undo: EntryUndo;
  /** What we wrote, to tell "up to date" and "changed since" apart. */
  entry: Record<string, unknown>;
  /** The file did not exist before init created it. */
  createdFile?: boolean;
  /** Init created it at the far end of a (dangling) symlink: remove deletes that file, not the link. */
  createdThroughLink?: boolean;
  at: string;
}

export interface GuardState {
  version: 1;
  entries: StateEntry[];
}

export function statePath(host: GuardHost): string {
  return path.join(localPath(host, host.home), '.sphyr', 'guard-state.json');
}

export async function readState(host: GuardHost): Promise<GuardState> {
  const file = statePath(host);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, entries: [] };
    throw error;
  }
  try {
    const state = JSON.parse(text) as GuardState;
    if (state.version !== 1 || !Array.isArray(state.entries)) throw new Error('unknown layout');
    return state;
  } catch (error) {
    throw new SphyrConfigError(
      'guard_state_unreadable',
      `${file} is not a guard state file (${(error as Error).message}); move it aside to continue — guard remove will then only remove the sphyr entries`,
    );
  }
}

export async function writeState(host: GuardHost, state: GuardState): Promise<void> {
  const file = statePath(host);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // Loaded on write only: a dry run never needs it.
  const { default: writeFileAtomic } = await import('write-file-atomic');
  await writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
