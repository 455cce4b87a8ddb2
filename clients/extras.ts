/** @module The extra clients: same `mcpServers` shape as Cursor, different files. */

import { appSupport, join, plainEntry, readPlainEntry, rewritePlainEntry, sdkDefaultEnv } from './common.js';
import type { ClientAdapter } from './types.js';

/** Gemini CLI: ~/.gemini/settings.json (it strips comments, so JSONC). */
export const geminiCli: ClientAdapter = {
  id: 'gemini-cli',
  displayName: 'Gemini CLI',
  format: 'jsonc',
  serversKey: ['mcpServers'],
  configPaths: (ctx) => [{ path: join(ctx.platform, ctx.home, '.gemini', 'settings.json'), label: 'user' }],
  projectPaths: (dir, platform) => [
    { path: join(platform, dir, '.gemini', 'settings.json'), label: 'project' },
  ],
  detectPaths: (ctx) => [join(ctx.platform, ctx.home, '.gemini', 'settings.json')],
  buildEntry: (launch) => plainEntry(launch),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: sdkDefaultEnv,
  reload: 'start a new gemini session; check with /mcp',
};

/** LM Studio: ~/.lmstudio/mcp.json. */
export const lmStudio: ClientAdapter = {
  id: 'lm-studio',
  displayName: 'LM Studio',
  format: 'json',
  serversKey: ['mcpServers'],
  configPaths: (ctx) => [{ path: join(ctx.platform, ctx.home, '.lmstudio', 'mcp.json'), label: 'user' }],
  projectPaths: () => [],
  detectPaths: (ctx) => [join(ctx.platform, ctx.home, '.lmstudio')],
  buildEntry: (launch) => plainEntry(launch),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: sdkDefaultEnv,
  reload: 'restart LM Studio (or toggle the server in Program → Integrations)',
};

/** JetBrains Junie: ~/.junie/mcp/mcp.json, no `type`. */
export const junie: ClientAdapter = {
  id: 'junie',
  displayName: 'JetBrains Junie',
  format: 'json',
  serversKey: ['mcpServers'],
  configPaths: (ctx) => [{ path: join(ctx.platform, ctx.home, '.junie', 'mcp', 'mcp.json'), label: 'user' }],
  projectPaths: (dir, platform) => [
    { path: join(platform, dir, '.junie', 'mcp', 'mcp.json'), label: 'project' },
  ],
  detectPaths: (ctx) => [join(ctx.platform, ctx.home, '.junie')],
  buildEntry: (launch) => plainEntry(launch),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: sdkDefaultEnv,
  reload: 'restart the JetBrains IDE (or Junie settings → MCP → refresh)',
};

/** Cline in VS Code: its settings file under the editor's globalStorage. */
export const cline: ClientAdapter = {
  id: 'cline',
  displayName: 'Cline (VS Code)',
  format: 'json',
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
  inheritedEnv: sdkDefaultEnv,
  reload: 'open Cline → MCP Servers and restart sphyr (Cline watches the file)',
};
