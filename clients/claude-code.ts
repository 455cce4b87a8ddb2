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
  // Local scope, where `claude mcp add` writes by default: projects["/abs/dir"].mcpServers.
  serverMaps(doc) {
    const maps = [['mcpServers']];
    const projects = doc.projects;
    if (typeof projects !== 'object' || projects === null || Array.isArray(projects)) return maps;
    for (const [dir, project] of Object.entries(projects)) {
      const servers = (project as { mcpServers?: unknown } | null)?.mcpServers;
      if (typeof servers === 'object' && servers !== null && !Array.isArray(servers))
        maps.push(['projects', dir, 'mcpServers']);
    }
    return maps;
  },
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
  projectReload:
    'start a new Claude Code session in the project: it asks each user to approve the servers in .mcp.json, so approve sphyr there (`claude mcp reset-project-choices` asks again); check with /mcp',
};
