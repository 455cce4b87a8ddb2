/**
 * @module Plans the edits of `guard init` and `guard remove` file by file, without writing: read,
 * parse in the client's dialect, set or undo entries, re-parse. A file that does not parse gets an
 * error in its plan and is never written.
 */

import { isDeepStrictEqual } from 'node:util';
import type { ClientAdapter, Launch } from '../../clients/types.js';
import { isSphyrError, SphyrConfigError, type SphyrError } from '../errors.js';
import { readConfig } from './editors.js';
import type { EntryUndo } from './format-editor.js';
import { runsSphyrMcp, wrapLaunch } from './launch.js';
import { assertCreatable, emptySnapshot, type Snapshot, snapshot } from './safe-write.js';
import type { StateEntry } from './state.js';
import type { Target } from './targets.js';
import { withBom } from './text-style.js';

export const ENTRY_NAME = 'sphyr';

export interface PlannedChange {
  name: string;
  /** The servers object holding it (absent: the client's serversKey). */
  serversKey?: string[];
  kind: 'sphyr' | 'wrapped';
  undo: EntryUndo;
  entry: Record<string, unknown>;
}

export interface FilePlan {
  target: Target;
  snap: Snapshot;
  /** The new bytes; equal to `snap.raw` when nothing changes. */
  after: string | undefined;
  changes: PlannedChange[];
  /** Entries of the state file this plan undoes (remove). */
  undone: StateEntry[];
  /** Remove: init created the file and nothing else is in it now, so it goes. */
  deleteFile?: boolean;
  /** A `sphyr` entry guard did not write, left as it is (what --force would replace, in short). */
  kept?: string;
  /** The same, replaced because of --force. */
  replaced?: string;
  error?: SphyrError;
}

export function changed(plan: FilePlan): boolean {
  return !plan.error && (plan.after !== plan.snap.raw || plan.deleteFile === true);
}

function fail(target: Target, snap: Snapshot, error: unknown): FilePlan {
  const wrapped = isSphyrError(error)
    ? new SphyrConfigError(error.code, prefixed(target, error.message))
    : new SphyrConfigError('config_edit_failed', `${target.file}: ${(error as Error).message}`);
  return { target, snap, after: snap.raw, changes: [], undone: [], error: wrapped };
}

/** Every message names the file once, as the user's platform spells it. */
function prefixed(target: Target, message: string): string {
  const bare = message.startsWith(`${target.local}: `) ? message.slice(target.local.length + 2) : message;
  return bare.includes(target.local) || bare.includes(target.file) ? bare : `${target.file}: ${bare}`;
}

/** Every servers object of a document, the client's own `serversKey` first. */
export function serverMapsOf(client: ClientAdapter, doc: Record<string, unknown>): string[][] {
  return client.serverMaps?.(doc) ?? [[...client.serversKey]];
}

export function sameKey(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

export function serversOf(doc: Record<string, unknown>, key: readonly string[]): Record<string, unknown> {
  let node: unknown = doc;
  for (const k of key) node = (node as Record<string, unknown> | undefined)?.[k];
  return typeof node === 'object' && node !== null && !Array.isArray(node)
    ? (node as Record<string, unknown>)
    : {};
}

/** A short, secret-free picture of an entry: env values and credentials hidden. */
export function describeEntry(entry: unknown): string {
  const hide = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map((v) => hide(v));
    if (value && typeof value === 'object') {
      const env = key === 'env' || key === 'environment';
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, env ? '…' : hide(v, k)]));
    }
    return typeof value === 'string'
      ? value.replace(/sphyr\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+/g, 'sphyr.$1.***')
      : value;
  };
  const text = JSON.stringify(hide(entry));
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** An entry without its credential plumbing (env, Codex's env_vars), which doctor checks instead. */
export function withoutEnv(entry: unknown): unknown {
  if (typeof entry !== 'object' || entry === null) return entry;
  const { env: _env, env_vars: _vars, ...rest } = entry as Record<string, unknown>;
  return rest;
}

export interface InitOptions {
  wrapExisting?: boolean;
  /** What init last wrote as this file's `sphyr` entry (the state file); anything else there is the user's. */
  recorded?: unknown;
  /** Replace a `sphyr` entry guard did not write. */
  force?: boolean;
}

/**
 * `guard init` for one file: our entry set whole; with `wrapExisting`, other stdio servers wrapped.
 * A `sphyr` entry that is neither what init last wrote nor what it writes now is the user's: kept,
 * unless `force`.
 */
export async function planInit(target: Target, launch: Launch, options: InitOptions = {}): Promise<FilePlan> {
  const wrapExisting = Boolean(options.wrapExisting);
  let snap: Snapshot = emptySnapshot(target.local);
  try {
    // Through any symlink: the link stays, its far end is what we edit.
    snap = await snapshot(target.local);
    assertCreatable(snap);
    const { client } = target;
    // In the client's own dialect: a file it would refuse is refused here, never written.
    const { file, doc, editor } = await readConfig(client, snap.raw ?? '');
    const changes: PlannedChange[] = [];
    const entry = client.buildEntry(launch);
    let text = file.body;
    const existing = serversOf(doc, client.serversKey)[ENTRY_NAME];
    const theirs =
      existing !== undefined &&
      !isDeepStrictEqual(existing, entry) &&
      !(options.recorded !== undefined && isDeepStrictEqual(existing, options.recorded));
    let kept: string | undefined;
    let replaced: string | undefined;
    if (theirs && !options.force) kept = describeEntry(existing);
    else {
      if (theirs) replaced = describeEntry(existing);
      const set = editor.set(text, client.serversKey, ENTRY_NAME, entry, file.style);
      if (set.text !== text) changes.push({ name: ENTRY_NAME, kind: 'sphyr', undo: set.undo, entry });
      text = set.text;
    }
    // Every servers object: Claude Code's local-scope ones (per project) too.
    for (const key of wrapExisting ? serverMapsOf(client, doc) : []) {
      const own = sameKey(key, client.serversKey);
      for (const [name, value] of Object.entries(serversOf(doc, key))) {
        if (name === ENTRY_NAME) continue;
        const upstream = client.readEntry(value);
        // A Zed legacy entry nests {path, args} under `command`: not rewritten in place.
        const command = (value as { command?: unknown }).command;
        const nested = typeof command === 'object' && command !== null && !Array.isArray(command);
        if (!upstream || nested || runsSphyrMcp(upstream)) continue;
        const rewritten = client.rewriteEntry(value as Record<string, unknown>, wrapLaunch(launch, upstream));
        // Only the launch keys the rewritten entry has (Codex's env_vars only when there are any).
        const only = (client.launchKeys ?? ['command', 'args']).filter((k) => rewritten[k] !== undefined);
        const step = editor.set(text, key, name, rewritten, file.style, { only });
        changes.push({
          name,
          ...(own ? {} : { serversKey: key }),
          kind: 'wrapped',
          undo: step.undo,
          entry: rewritten,
        });
        text = step.text;
      }
    }
    // Every set above re-parsed its result and compared it with the original before returning.
    return {
      target,
      snap,
      after: changes.length ? withBom(file, text) : snap.raw,
      changes,
      undone: [],
      ...(kept ? { kept } : {}),
      ...(replaced ? { replaced } : {}),
    };
  } catch (error) {
    return fail(target, snap, error);
  }
}

/**
 * `guard remove` for one file: undo what init recorded, newest first. With no record (the state
 * file was lost), drop a `sphyr` entry only if `ours` says guard wrote it; keep anything else.
 */
export async function planRemove(
  target: Target,
  recorded: StateEntry[],
  ours: (entry: unknown) => boolean = () => true,
): Promise<FilePlan> {
  let snap: Snapshot = emptySnapshot(target.local);
  try {
    // Through any symlink: the link stays, its far end is what we edit.
    snap = await snapshot(target.local);
    if (snap.raw === undefined) return { target, snap, after: undefined, changes: [], undone: recorded };
    const { client } = target;
    const { file, doc, editor } = await readConfig(client, snap.raw);
    let text = file.body;
    const unrecorded = recorded.length ? undefined : serversOf(doc, client.serversKey)[ENTRY_NAME];
    const theirs = unrecorded !== undefined && !ours(unrecorded);
    const steps = recorded.length
      ? [...recorded].reverse()
      : unrecorded !== undefined && !theirs
        ? [{ name: ENTRY_NAME, undo: { previous: null } as EntryUndo, createdFile: false }]
        : [];
    for (const step of steps) {
      const key = 'serversKey' in step && step.serversKey ? step.serversKey : client.serversKey;
      text = editor.undo(text, key, step.name, step.undo, file.style);
    }
    editor.parse(text);
    // Init created the file: it goes again, at the far end of a link (the link stays, dangling as
    // before) — unless the path changed shape since (a link replaced by a file or the reverse).
    const created = recorded.filter((r) => r.createdFile);
    const sameShape = created.every((r) => (r.createdThroughLink ?? false) === snap.linked);
    const deleteFile = created.length > 0 && sameShape && text.trim() === '';
    return {
      target,
      snap,
      after: withBom(file, text),
      changes: [],
      undone: recorded,
      deleteFile,
      ...(theirs ? { kept: describeEntry(unrecorded) } : {}),
    };
  } catch (error) {
    return fail(target, snap, error);
  }
}
