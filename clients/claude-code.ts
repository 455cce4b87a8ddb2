import { ALL_ENV_RULE, allEnv, join, readPlainEntry, rewritePlainEntry } from './common.js';
import type { ClientAdapter } from './types.js';

/** Claude Code: user scope is the top-level `mcpServers` of ~/.claude.json (or $CLAUDE_CONFIG_DIR). */
export const claudeCode: ClientAdapter = {
  id: 'claude-code',
  displayName: 'Claude Code',
  format: 'json',
  // Claude Code 2.1.197: a comment or trailing comma is "corrupted" (it resets the file); a BOM is skipped.
  dialect: { comments: false, trailingCommas: false, bom: true },
  serversKey: ['mcpServers'],
  configPaths(ctx) {
    const dir = ctx.env.CLAUDE_CONFIG_DIR || ctx.home;
    return [{ path: join(ctx.platform, dir, '.claude.json'), label: 'user' }];
  },
  projectPaths: (dir, platform) => [{ path: join(platform, dir, '.mcp.json'), label: 'project' }],
  detectPaths(ctx) {
    const paths = [join(ctx.platform, ctx.home, '.claude'), join(ctx.platform, ctx.home, '.claude.json')];
    if (ctx.env.CLAUDE_CONFIG_DIR) paths.unshift(ctx.env.CLAUDE_CONFIG_DIR);
    return paths;
  },
  buildEntry: (launch) => ({ type: 'stdio', command: launch.command, args: launch.args, env: launch.env }),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  // Claude Code 2.1.197 spreads its whole environment under the entry's env (seen with an env-dumping server).
  inheritedEnv: (_platform, parent) => allEnv(parent),
  envRule: ALL_ENV_RULE,
  reload: 'start a new Claude Code session (running sessions keep their servers); check with /mcp',
};
