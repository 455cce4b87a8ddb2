/** @module The extra clients: same `mcpServers` shape as Cursor, different files. */

import {
  ALL_ENV_RULE,
  allEnv,
  appSupport,
  JSONC,
  join,
  plainEntry,
  readPlainEntry,
  rewritePlainEntry,
  SDK_ENV_RULE,
  STRICT_JSON,
  sdkInheritedEnv,
} from './common.js';
import { GEMINI_ENV_RULE, geminiInheritedEnv } from './gemini-env.js';
import type { ClientAdapter } from './types.js';

/** Gemini CLI: ~/.gemini/settings.json. */
export const geminiCli: ClientAdapter = {
  id: 'gemini-cli',
  displayName: 'Gemini CLI',
  format: 'json',
  // Gemini CLI 0.61 strips comments, then JSON.parse: a trailing comma or a BOM is a parse error.
  dialect: { comments: true, trailingCommas: false, bom: false },
  serversKey: ['mcpServers'],
  configPaths: (ctx) => [{ path: join(ctx.platform, ctx.home, '.gemini', 'settings.json'), label: 'user' }],
  projectPaths: (dir, platform) => [
    { path: join(platform, dir, '.gemini', 'settings.json'), label: 'project' },
  ],
  detectPaths: (ctx) => [join(ctx.platform, ctx.home, '.gemini', 'settings.json')],
  buildEntry: (launch) => plainEntry(launch),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  // Gemini CLI 0.61 hides secret-looking variables, SPHYR_CREDENTIAL among them (clients/gemini-env.ts).
  inheritedEnv: geminiInheritedEnv,
  envRule: GEMINI_ENV_RULE,
  reload: 'start a new gemini session; check with /mcp',
  projectReload:
    'start a new gemini session in the project; stdio servers run only in a trusted folder (`gemini trust`); check with /mcp',
};

/** LM Studio: ~/.lmstudio/mcp.json. */
export const lmStudio: ClientAdapter = {
  id: 'lm-studio',
  displayName: 'LM Studio',
  format: 'json',
  dialect: STRICT_JSON,
  serversKey: ['mcpServers'],
  configPaths: (ctx) => [{ path: join(ctx.platform, ctx.home, '.lmstudio', 'mcp.json'), label: 'user' }],
  projectPaths: () => [],
  detectPaths: (ctx) => [join(ctx.platform, ctx.home, '.lmstudio')],
  buildEntry: (launch) => plainEntry(launch),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: sdkInheritedEnv,
  envRule: SDK_ENV_RULE,
  reload: 'restart LM Studio (or toggle the server in Program → Integrations)',
};

/** JetBrains Junie: ~/.junie/mcp/mcp.json, no `type`. */
export const junie: ClientAdapter = {
  id: 'junie',
  displayName: 'JetBrains Junie',
  format: 'json',
  dialect: STRICT_JSON,
  serversKey: ['mcpServers'],
  configPaths: (ctx) => [{ path: join(ctx.platform, ctx.home, '.junie', 'mcp', 'mcp.json'), label: 'user' }],
  projectPaths: (dir, platform) => [
    { path: join(platform, dir, '.junie', 'mcp', 'mcp.json'), label: 'project' },
  ],
  detectPaths: (ctx) => [join(ctx.platform, ctx.home, '.junie')],
  buildEntry: (launch) => plainEntry(launch),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: sdkInheritedEnv,
  envRule: SDK_ENV_RULE,
  reload: 'restart the JetBrains IDE (or Junie settings → MCP → refresh)',
};

/** Cline in VS Code: its settings file under the editor's globalStorage. */
export const cline: ClientAdapter = {
  id: 'cline',
  displayName: 'Cline (VS Code)',
  format: 'json',
  dialect: STRICT_JSON,
  serversKey: ['mcpServers'],
  configPaths: (ctx) => [
    {
      path: join(
        ctx.platform,
        appSupport(ctx, 'Code'),
        'User',
        'globalStorage',
        'saoudrizwan.claude-dev',
        'settings',
        'cline_mcp_settings.json',
      ),
      label: 'user',
    },
  ],
  projectPaths: () => [],
  detectPaths: (ctx) => [
    join(ctx.platform, appSupport(ctx, 'Code'), 'User', 'globalStorage', 'saoudrizwan.claude-dev'),
  ],
  buildEntry: (launch) => plainEntry(launch),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: sdkInheritedEnv,
  envRule: SDK_ENV_RULE,
  reload: 'open Cline → MCP Servers and restart sphyr (Cline watches the file)',
};

/**
 * opencode: `mcp.<name>` in ~/.config/opencode/opencode.jsonc (when that exists) or opencode.json;
 * a local server is `{type: "local", command: [bin, ...args], environment}`.
 */
export const opencode: ClientAdapter = {
  id: 'opencode',
  displayName: 'opencode',
  format: 'json',
  // opencode 1.18 (jsonc-parser): comments, trailing commas and a BOM, in .json and .jsonc alike.
  dialect: JSONC,
  serversKey: ['mcp'],
  configPaths(ctx) {
    const dir = join(
      ctx.platform,
      ctx.env.XDG_CONFIG_HOME || join(ctx.platform, ctx.home, '.config'),
      'opencode',
    );
    return [
      { path: join(ctx.platform, dir, 'opencode.jsonc'), label: 'user', group: 'config' },
      { path: join(ctx.platform, dir, 'opencode.json'), label: 'user', group: 'config' },
    ];
  },
  projectPaths: (dir, platform) => [
    { path: join(platform, dir, 'opencode.jsonc'), label: 'project', group: 'config' },
    { path: join(platform, dir, 'opencode.json'), label: 'project', group: 'config' },
  ],
  detectPaths: (ctx) => [
    join(ctx.platform, ctx.env.XDG_CONFIG_HOME || join(ctx.platform, ctx.home, '.config'), 'opencode'),
  ],
  buildEntry(launch) {
    const entry: Record<string, unknown> = {
      type: 'local',
      command: [launch.command, ...launch.args],
      enabled: true,
    };
    if (Object.keys(launch.env).length > 0) entry.environment = launch.env;
    return entry;
  },
  readEntry(entry) {
    const e = entry as { type?: unknown; command?: unknown; environment?: unknown } | null;
    if (e?.type !== 'local' || !Array.isArray(e.command) || typeof e.command[0] !== 'string')
      return undefined;
    const [command, ...args] = e.command.map(String) as [string, ...string[]];
    const env: Record<string, string> = {};
    if (typeof e.environment === 'object' && e.environment !== null) {
      for (const [k, v] of Object.entries(e.environment)) env[k] = String(v);
    }
    return { command, args, env };
  },
  launchKeys: ['command'],
  rewriteEntry: (entry, launch) => ({ ...entry, command: [launch.command, ...launch.args] }),
  // opencode 1.18 spreads its whole environment under `environment` (seen with an env-dumping server).
  inheritedEnv: (_platform, parent) => allEnv(parent),
  envRule: ALL_ENV_RULE,
  reload: 'restart opencode',
};
