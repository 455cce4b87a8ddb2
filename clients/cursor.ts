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

/** Cursor: ~/.cursor/mcp.json on every OS; written as strict JSON. */
export const cursor: ClientAdapter = {
  id: 'cursor',
  displayName: 'Cursor',
  format: 'json',
  // Not verified against Cursor itself: treated as JSON.parse reads it.
  dialect: STRICT_JSON,
  serversKey: ['mcpServers'],
  configPaths: (ctx) => [{ path: join(ctx.platform, ctx.home, '.cursor', 'mcp.json'), label: 'user' }],
  projectPaths: (dir, platform) => [{ path: join(platform, dir, '.cursor', 'mcp.json'), label: 'project' }],
  detectPaths: (ctx) => [join(ctx.platform, ctx.home, '.cursor')],
  buildEntry: (launch) => plainEntry(launch),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: sdkInheritedEnv,
  envRule: SDK_ENV_RULE,
  reload: 'open Cursor Settings → MCP and refresh the server list (or restart Cursor)',
};
