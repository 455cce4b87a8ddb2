/**
 * @module `guard init|remove|status` as operations on a host: pick targets, plan, and (when asked)
 * apply with backups, atomic writes and the state file. The CLI adds prompts and printing.
 */

import { unlink } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { CLIENTS, clientById } from '../../clients/index.js';
import type { ClientAdapter, Launch } from '../../clients/types.js';
import { SphyrConfigError } from '../errors.js';
import { readConfig } from './editors.js';
import { lexists } from './links.js';
import { changed, ENTRY_NAME, type FilePlan, planInit, planRemove, sameKey, withoutEnv } from './plan.js';
import type { GuardHost } from './platform.js';
import { assertWritable, pruneBackups, snapshot, writeSafely } from './safe-write.js';
import { type GuardState, readState, type StateEntry, writeState } from './state.js';
import { isDetected, type Target, targetsFor } from './targets.js';

export interface Selection {
  /** Client ids the user named; empty = every detected client. */
  clients: string[];
  /** Edit the project-scope files under this folder instead of the user's. */
  project?: string;
}

export function selectClients(ids: string[]): ClientAdapter[] {
  const unknown = ids.filter((id) => !clientById(id));
  if (unknown.length) {
    throw new SphyrConfigError(
      'unknown_client',
      `unknown client ${unknown.map((u) => `"${u}"`).join(', ')}; known: ${CLIENTS.map((c) => c.id).join(', ')}`,
    );
  }
  return ids.length ? ids.map((id) => clientById(id) as ClientAdapter) : [...CLIENTS];
}

/** The files to work on: detected (or named) clients, user scope or the project's. */
export async function findTargets(host: GuardHost, selection: Selection): Promise<Target[]> {
  const named = selection.clients.length > 0;
  const targets: Target[] = [];
  for (const client of selectClients(selection.clients)) {
    if (selection.project) {
      const locations = client.projectPaths(selection.project, host.platform);
      if (!locations.length) continue;
      if (!named && !(await isDetected(host, client))) continue;
      targets.push(...(await targetsFor(host, client, locations, true)));
      continue;
    }
    if (!named && !(await isDetected(host, client))) continue;
    targets.push(...(await targetsFor(host, client, client.configPaths(host), named)));
  }
  return targets;
}

export async function planInitAll(
  host: GuardHost,
  selection: Selection,
  launch: Launch,
  wrapExisting: boolean,
  options: { force?: boolean } = {},
) {
  const targets = await findTargets(host, selection);
  const state = await readState(host);
  // What init last wrote as each file's sphyr entry: an entry equal to it is ours to update.
  const recorded = (t: Target) =>
    state.entries.find(
      (e) => e.file === t.file && e.client === t.client.id && e.name === ENTRY_NAME && !e.serversKey,
    )?.entry;
  return Promise.all(
    targets.map((t) => planInit(t, launch, { wrapExisting, recorded: recorded(t), force: options.force })),
  );
}

/**
 * `guard remove` for the selection. `launches`: the command lines guard writes (node by path, npx),
 * which tell an unrecorded `sphyr` entry of ours from one the user wrote.
 */
export async function planRemoveAll(host: GuardHost, selection: Selection, launches?: Launch[]) {
  const forms = launches ?? (await import('./launch.js')).ourLaunches(host.platform);
  const ours = (client: ClientAdapter) => (entry: unknown) =>
    forms.some((l) => isDeepStrictEqual(withoutEnv(entry), withoutEnv(client.buildEntry(l))));
  const state = await readState(host);
  const targets = await findTargets(host, { ...selection, clients: selection.clients });
  // Files init recorded are undone even if the client is no longer detected.
  for (const entry of state.entries) {
    if (selection.clients.length && !selection.clients.includes(entry.client)) continue;
    if (targets.some((t) => t.file === entry.file)) continue;
    const client = clientById(entry.client);
    if (client) {
      const { localPath } = await import('./platform.js');
      targets.push({ client, label: 'recorded', file: entry.file, local: localPath(host, entry.file) });
    }
  }
  return Promise.all(
    targets.map((t) =>
      planRemove(
        t,
        state.entries.filter((e) => e.file === t.file && e.client === t.client.id),
        ours(t.client),
      ),
    ),
  );
}

export interface Applied {
  plan: FilePlan;
  backup?: string;
  /** Older backups of the same file deleted to keep the newest few (BACKUPS_KEPT). */
  pruned?: string[];
  error?: Error;
}

/**
 * Write every changed plan. Each file is checked writable first and written on its own; one
 * failure does not stop the others, and the state file records only what was written.
 */
export async function applyPlans(
  host: GuardHost,
  plans: FilePlan[],
  mode: 'init' | 'remove',
  options: { secretInEntry?: boolean } = {},
): Promise<Applied[]> {
  const state: GuardState = await readState(host);
  const results: Applied[] = [];
  for (const plan of plans.filter(changed)) {
    try {
      await assertWritable(plan.snap);
      let backup: string | undefined;
      if (plan.deleteFile) {
        // The file, never a link to it: a link init found stays, as it was before.
        const current = await snapshot(plan.snap.path);
        if (current.raw !== plan.snap.raw || current.file !== plan.snap.file)
          throw new SphyrConfigError('config_changed', `${plan.target.file} changed meanwhile; run again`);
        await unlink(plan.snap.file);
      } else {
        // A file that carries a credential is tightened to 0600.
        backup = await writeSafely(
          plan.snap,
          plan.after ?? '',
          host.now(),
          options.secretInEntry ? 0o600 : undefined,
        );
      }
      record(state, plan, mode, host.now());
      const pruned = backup ? await pruneBackups(plan.snap.path) : [];
      results.push({ plan, backup, ...(pruned.length ? { pruned } : {}) });
    } catch (error) {
      results.push({ plan, error: error as Error });
    }
  }
  await writeState(host, state);
  return results;
}

function record(state: GuardState, plan: FilePlan, mode: 'init' | 'remove', now: Date): void {
  const { file } = plan.target;
  const client = plan.target.client.id;
  if (mode === 'remove') {
    state.entries = state.entries.filter((e) => !(e.file === file && e.client === client));
    return;
  }
  for (const change of plan.changes) {
    const key = change.serversKey ?? plan.target.client.serversKey;
    const existing = state.entries.find(
      (e) =>
        e.file === file &&
        e.client === client &&
        e.name === change.name &&
        sameKey(e.serversKey ?? plan.target.client.serversKey, key),
    );
    if (existing) {
      // Keep the first undo: it holds what the user had before any init.
      existing.entry = change.entry;
      existing.at = now.toISOString();
      continue;
    }
    const entry: StateEntry = {
      client,
      file,
      name: change.name,
      ...(change.serversKey ? { serversKey: change.serversKey } : {}),
      kind: change.kind,
      undo: change.undo,
      entry: change.entry,
      at: now.toISOString(),
    };
    if (plan.snap.raw === undefined) entry.createdFile = true;
    if (plan.snap.raw === undefined && plan.snap.linked) entry.createdThroughLink = true;
    state.entries.push(entry);
  }
}

export interface ClientStatus {
  client: string;
  displayName: string;
  detected: boolean;
  files: Array<{ file: string; label: string; configured: boolean; upToDate: boolean; problem?: string }>;
}

/** `guard status`: per client, whether it is here, configured, and current. */
export async function status(
  host: GuardHost,
  selection: Selection,
  launches: Launch[],
): Promise<ClientStatus[]> {
  const out: ClientStatus[] = [];
  for (const client of selectClients(selection.clients)) {
    const detected = await isDetected(host, client);
    const locations = selection.project
      ? client.projectPaths(selection.project, host.platform)
      : client.configPaths(host);
    // An undetected client is "not detected", whatever folders happen to exist (~/.gemini made by
    // Antigravity, the home folder that would hold ~/.claude.json); in a project, its files there count.
    const found = await targetsFor(host, client, locations, false);
    const targets = detected ? found : selection.project ? found.filter((t) => lexists(t.local)) : [];
    const files: ClientStatus['files'] = [];
    for (const t of targets) {
      try {
        const snap = await snapshot(t.local);
        // The client's own dialect: a file it would refuse is a problem, never "up to date".
        const doc = snap.raw === undefined ? {} : (await readConfig(client, snap.raw)).doc;
        let node: unknown = doc;
        for (const k of client.serversKey) node = (node as Record<string, unknown> | undefined)?.[k];
        const entry = (node as Record<string, unknown> | undefined)?.[ENTRY_NAME];
        files.push({
          file: t.file,
          label: t.label,
          configured: entry !== undefined,
          // Current = what init would write now (node path or npx form), whatever env it carries.
          upToDate: launches.some((l) =>
            isDeepStrictEqual(withoutEnv(entry), withoutEnv(client.buildEntry(l))),
          ),
        });
      } catch (error) {
        files.push({
          file: t.file,
          label: t.label,
          configured: false,
          upToDate: false,
          problem: (error as Error).message,
        });
      }
    }
    out.push({ client: client.id, displayName: client.displayName, detected, files });
  }
  return out;
}
