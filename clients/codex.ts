import { join, pickEnv, readPlainEntry, rewritePlainEntry } from './common.js';
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
    const entry: Record<string, unknown> = { command: launch.command, args: launch.args };
    // Codex passes only its allowlist, so a shell-exported credential needs env_vars. Only when there
    // is one: `codex doctor` warns about every env_vars name its shell does not set.
    if (launch.forward?.length) entry.env_vars = launch.forward;
    if (Object.keys(launch.env).length > 0) entry.env = launch.env;
    return entry;
  },
  readEntry: (entry) => readPlainEntry(entry),
  // A wrapped server's own sphyr-mcp needs the same variables passed on as the sphyr entry.
  launchKeys: ['command', 'args', 'env_vars'],
  rewriteEntry(entry, launch) {
    const rewritten = rewritePlainEntry(entry, launch);
    const own = codexForwarded(entry);
    const names = [...own, ...(launch.forward ?? []).filter((n) => !own.includes(n))];
    if (names.length) rewritten.env_vars = names;
    return rewritten;
  },
  inheritedEnv: (platform: Platform, parent, entry) =>
    pickEnv([...(platform === 'win32' ? WINDOWS_ENV : UNIX_ENV), ...codexForwarded(entry)], parent, platform),
  envRule:
    "only its allowlist, HOME, LOGNAME, PATH, SHELL, USER, LANG, LC_ALL, TERM, TMPDIR and TZ (on Windows PATH, USERPROFILE, APPDATA and more), and the variables the entry names in env_vars, plus the entry's env",
  reload: 'restart Codex (the CLI, the IDE extension or the app)',
  projectReload: 'restart Codex in the project; it reads .codex/config.toml only once you trust the project',
};

/** Names Codex forwards for an entry: its allowlist plus the entry's `env_vars`. */
export function codexForwarded(entry: unknown): string[] {
  const vars = (entry as { env_vars?: unknown } | null)?.env_vars;
  return Array.isArray(vars) ? vars.filter((v): v is string => typeof v === 'string') : [];
}
