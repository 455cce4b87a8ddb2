/** @module Which clients are here and which of their config files to edit. */

// Synchronous fs on purpose: dozens of tiny probes, each cheaper than a thread-pool round trip.
import { readdirSync } from 'node:fs';
import { join } from '../../clients/common.js';
import type { ClientAdapter, ConfigLocation } from '../../clients/types.js';
import { lexists } from './links.js';
import { type GuardHost, localPath } from './platform.js';

export interface Target {
  client: ClientAdapter;
  label: string;
  /** As the described platform spells it (shown to the user, kept in the state file). */
  file: string;
  /** Where it is on this machine. */
  local: string;
}

/** Expand one `*` path segment against the folders that exist. */
export async function expand(host: GuardHost, pattern: string): Promise<string[]> {
  const sep = host.platform === 'win32' ? '\\' : '/';
  const parts = pattern.split(sep);
  const star = parts.findIndex((p) => p.includes('*'));
  if (star === -1) return [pattern];
  const parent = parts.slice(0, star).join(sep) || sep;
  const [prefix, suffix] = (parts[star] as string).split('*') as [string, string];
  let names: string[];
  try {
    names = readdirSync(localPath(host, parent));
  } catch {
    return [];
  }
  const rest = parts.slice(star + 1);
  return names
    .filter((n) => n.startsWith(prefix) && n.endsWith(suffix) && n.length >= prefix.length + suffix.length)
    .sort()
    .map((n) => (rest.length ? join(host.platform, parent, n, ...rest) : join(host.platform, parent, n)));
}

/** Probes use lexists, not existsSync: a dangling symlink is a config the user set up, not nothing. */
export async function isDetected(host: GuardHost, client: ClientAdapter): Promise<boolean> {
  for (const pattern of client.detectPaths(host)) {
    for (const p of await expand(host, pattern)) if (lexists(localPath(host, p))) return true;
  }
  return false;
}

function parentOf(host: GuardHost, p: string): string {
  const sep = host.platform === 'win32' ? '\\' : '/';
  return p.slice(0, p.lastIndexOf(sep)) || sep;
}

/**
 * The files to edit for one client: every location whose file exists or whose folder exists (the
 * app has run there). `force` (the user named the client) falls back to creating the first one.
 */
export async function targetsFor(
  host: GuardHost,
  client: ClientAdapter,
  locations: ConfigLocation[],
  force: boolean,
): Promise<Target[]> {
  const found: Target[] = [];
  const groups = new Set<string>();
  for (const location of locations) {
    if (location.group) {
      if (groups.has(location.group)) continue;
      groups.add(location.group);
      const members = locations.filter((l) => l.group === location.group);
      const chosen =
        members.find((l) => lexists(localPath(host, l.path))) ??
        (members[members.length - 1] as ConfigLocation);
      const local = localPath(host, chosen.path);
      if (lexists(local) || lexists(localPath(host, parentOf(host, chosen.path)))) {
        found.push({ client, label: chosen.label, file: chosen.path, local });
      }
      continue;
    }
    for (const file of await expand(host, location.path)) {
      const local = localPath(host, file);
      if (lexists(local) || lexists(localPath(host, parentOf(host, file)))) {
        found.push({ client, label: location.label, file, local });
      }
    }
  }
  if (found.length === 0 && force) {
    const lastOfGroup = (l: ConfigLocation) => l === locations.filter((m) => m.group === l.group).at(-1);
    const first = locations.find((l) => !l.path.includes('*') && (l.group === undefined || lastOfGroup(l)));
    if (first)
      found.push({ client, label: first.label, file: first.path, local: localPath(host, first.path) });
  }
  return found;
}
