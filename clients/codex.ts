import { join, readPlainEntry, rewritePlainEntry } from './common.js';
import type { ClientAdapter, Platform } from './types.js';

const UNIX_ENV = [
  'HOME',
  'LOGNAME',
  'PATH',
  'SHELL',
  'USER',
  '__CF_USER_TEXT_ENCODING',
  'LANG',
  'LC_ALL',
  'TERM',
  'TMPDIR',
  'TZ',
];
const WINDOWS_ENV = [
  'PATH',
  'PATHEXT',
  'USERNAME',
  'USERDOMAIN',
  'USERPROFILE',
  'TEMP',
  'TMP',
  'COMSPEC',
  'SYSTEMROOT',
  'APPDATA',
  'LOCALAPPDATA',
  'PROGRAMFILES',
];
/** Codex passes only its allowlist; these are forwarded when set, so a shell-exported credential works. */
const FORWARDED = ['SPHYR_CREDENTIAL', 'SPHYR_GATEWAY_URL'];

/** OpenAI Codex (CLI, IDE extension, desktop app): `[mcp_servers.sphyr]` in $CODEX_HOME/config.toml. */
export const codex: ClientAdapter = {
  id: 'codex',
  displayName: 'Codex',
  format: 'toml',
  // Codex 0.171: TOML 1.1 as smol-toml reads it (checked in test/real-clients), a BOM skipped.
  dialect: { comments: true, trailingCommas: false, bom: true },
  serversKey: ['mcp_servers'],
  configPaths: (ctx) => [
    {
      path: join(ctx.platform, ctx.env.CODEX_HOME || join(ctx.platform, ctx.home, '.codex'), 'config.toml'),
      label: 'user',
    },
  ],
  projectPaths: (dir, platform) => [{ path: join(platform, dir, '.codex', 'config.toml'), label: 'project' }],
  detectPaths: (ctx) => [ctx.env.CODEX_HOME || join(ctx.platform, ctx.home, '.codex')],
  buildEntry(launch) {
    const entry: Record<string, unknown> = {
      command: launch.command,
      args: launch.args,
      env_vars: FORWARDED,
    };
    if (Object.keys(launch.env).length > 0) entry.env = launch.env;
    return entry;
  },
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: (platform: Platform) => (platform === 'win32' ? WINDOWS_ENV : UNIX_ENV),
  reload: 'restart Codex (the CLI, the IDE extension or the app)',
};

/** Names Codex forwards for an entry: its allowlist plus the entry's `env_vars`. */
export function codexForwarded(entry: unknown): string[] {
  const vars = (entry as { env_vars?: unknown } | null)?.env_vars;
  return Array.isArray(vars) ? vars.filter((v): v is string => typeof v === 'string') : [];
}
