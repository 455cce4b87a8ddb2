import {
  join,
  plainEntry,
  readPlainEntry,
  rewritePlainEntry,
  SDK_ENV_RULE,
  STRICT_JSON,
  sdkInheritedEnv,
} from './common.js';
import type { ClientAdapter } from './types.js';

/**
 * Google Antigravity: 2.0 and the agy CLI read ~/.gemini/config/mcp_config.json, the 1.x IDE
 * ~/.gemini/antigravity/mcp_config.json; we write whichever folders exist. Never a `type` key
 * (Antigravity rejects entries that have one). ~/.gemini alone is Gemini CLI, not Antigravity.
 */
export const antigravity: ClientAdapter = {
  id: 'antigravity',
  displayName: 'Antigravity',
  format: 'json',
  // JSON.parse in an Electron app (not run here: no Node 20 CLI to test with).
  dialect: STRICT_JSON,
  serversKey: ['mcpServers'],
  configPaths: (ctx) => [
    { path: join(ctx.platform, ctx.home, '.gemini', 'config', 'mcp_config.json'), label: '2.0' },
    { path: join(ctx.platform, ctx.home, '.gemini', 'antigravity', 'mcp_config.json'), label: '1.x' },
  ],
  projectPaths: (dir, platform) => [
    { path: join(platform, dir, '.agents', 'mcp_config.json'), label: 'project' },
  ],
  detectPaths: (ctx) => [
    join(ctx.platform, ctx.home, '.gemini', 'config'),
    join(ctx.platform, ctx.home, '.gemini', 'antigravity'),
  ],
  buildEntry: (launch) => plainEntry(launch),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: sdkInheritedEnv,
  envRule: SDK_ENV_RULE,
  reload: 'open the agent pane → ⋯ → MCP Servers → Manage MCP Servers and refresh (or restart Antigravity)',
};
