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

/** Windsurf: ~/.codeium/windsurf/mcp_config.json on every OS. */
export const windsurf: ClientAdapter = {
  id: 'windsurf',
  displayName: 'Windsurf',
  format: 'json',
  // Not verified against Windsurf itself: treated as JSON.parse reads it.
  dialect: STRICT_JSON,
  serversKey: ['mcpServers'],
  configPaths: (ctx) => [
    { path: join(ctx.platform, ctx.home, '.codeium', 'windsurf', 'mcp_config.json'), label: 'user' },
  ],
  projectPaths: () => [],
  detectPaths: (ctx) => [join(ctx.platform, ctx.home, '.codeium', 'windsurf')],
  buildEntry: (launch) => plainEntry(launch),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: sdkInheritedEnv,
  envRule: SDK_ENV_RULE,
  reload: 'press the refresh button in Cascade → MCP servers (or restart Windsurf)',
};
