/** @module Small facts shared by the adapters: path joining per OS, well-known folders, entry shapes. */

import path from 'node:path';
import type { Dialect, Launch, PathContext, Platform } from './types.js';

/** JSON as `JSON.parse` reads it (Node and Electron apps): no comments, no trailing commas, no BOM. */
export const STRICT_JSON: Dialect = { comments: false, trailingCommas: false, bom: false };

/** JSON with comments and trailing commas (jsonc-parser, serde_json_lenient); a BOM is skipped. */
export const JSONC: Dialect = { comments: true, trailingCommas: true, bom: true };

/** Join with the separator of the platform being described, not the one we run on. */
export function join(platform: Platform, ...parts: string[]): string {
  return platform === 'win32' ? path.win32.join(...parts) : path.posix.join(...parts);
}

/** `%APPDATA%` (Roaming), falling back to its default under the profile. */
export function appData(ctx: PathContext): string {
  return ctx.env.APPDATA || join('win32', ctx.home, 'AppData', 'Roaming');
}

/** `%LOCALAPPDATA%`, falling back to its default under the profile. */
export function localAppData(ctx: PathContext): string {
  return ctx.env.LOCALAPPDATA || join('win32', ctx.home, 'AppData', 'Local');
}

/** `$XDG_CONFIG_HOME` when absolute (the spec ignores relative values), else `~/.config`. */
export function xdgConfig(ctx: PathContext): string {
  const xdg = ctx.env.XDG_CONFIG_HOME;
  return xdg?.startsWith('/') ? xdg : join(ctx.platform, ctx.home, '.config');
}

/** The per-user folder where Electron apps keep settings: Application Support, APPDATA or XDG. */
export function appSupport(ctx: PathContext, name: string): string {
  if (ctx.platform === 'darwin') return join('darwin', ctx.home, 'Library', 'Application Support', name);
  if (ctx.platform === 'win32') return join('win32', appData(ctx), name);
  return join('linux', xdgConfig(ctx), name);
}

/** The MCP SDK's getDefaultEnvironment(): what most Electron clients pass to a stdio server. */
export function sdkDefaultEnv(platform: Platform): readonly string[] {
  return platform === 'win32'
    ? [
        'APPDATA',
        'HOMEDRIVE',
        'HOMEPATH',
        'LOCALAPPDATA',
        'PATH',
        'PROCESSOR_ARCHITECTURE',
        'SYSTEMDRIVE',
        'SYSTEMROOT',
        'TEMP',
        'USERNAME',
        'USERPROFILE',
        'PROGRAMFILES',
      ]
    : ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER'];
}

type Env = Readonly<Record<string, string | undefined>>;

/** The variables named in `names` that `parent` sets; Windows matches names in any case, as it does. */
export function pickEnv(names: readonly string[], parent: Env, platform: Platform): Record<string, string> {
  const out: Record<string, string> = {};
  const fold = (n: string) => (platform === 'win32' ? n.toUpperCase() : n);
  for (const name of names) {
    const value =
      parent[name] ?? Object.entries(parent).find(([k]) => k !== name && fold(k) === fold(name))?.[1];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Every variable `parent` sets: the clients that spread their whole environment. */
export function allEnv(parent: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) if (value !== undefined) out[name] = value;
  return out;
}

/** What a client built on the MCP SDK's StdioClientTransport passes: its default allowlist. */
export function sdkInheritedEnv(platform: Platform, parent: Env): Record<string, string> {
  return pickEnv(sdkDefaultEnv(platform), parent, platform);
}

export const SDK_ENV_RULE =
  "only the MCP SDK's default variables, HOME, LOGNAME, PATH, SHELL, TERM and USER (on Windows APPDATA, PATH, USERPROFILE and a few more), plus the entry's env";

export const ALL_ENV_RULE = "its whole environment, plus the entry's env";

/** `{command, args, env}`: the common shape (env only when there is something in it). */
export function plainEntry(launch: Launch, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const entry: Record<string, unknown> = { ...extra, command: launch.command, args: launch.args };
  if (Object.keys(launch.env).length > 0) entry.env = launch.env;
  return entry;
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = String(v);
  return out;
}

/** Reads `{command, args?, env?}`; anything with `url`/`serverUrl` or without a command is not stdio. */
export function readPlainEntry(entry: unknown, envKey = 'env'): Launch | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
  const e = entry as Record<string, unknown>;
  if (typeof e.command !== 'string' || e.command === '') return undefined;
  if (e.url !== undefined || e.serverUrl !== undefined) return undefined;
  if (e.type !== undefined && e.type !== 'stdio' && e.type !== 'local') return undefined;
  const args = Array.isArray(e.args) ? e.args.map(String) : [];
  return { command: e.command, args, env: stringRecord(e[envKey]) };
}

/** Point an entry at a new command line, keeping its other fields (env, cwd, disabled…). */
export function rewritePlainEntry(entry: Record<string, unknown>, launch: Launch): Record<string, unknown> {
  return { ...entry, command: launch.command, args: launch.args };
}
