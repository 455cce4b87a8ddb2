import {
  appData,
  JSONC,
  join,
  readPlainEntry,
  rewritePlainEntry,
  SDK_ENV_RULE,
  sdkInheritedEnv,
  xdgConfig,
} from './common.js';
import type { ClientAdapter, PathContext } from './types.js';

function configDir(ctx: PathContext): string {
  if (ctx.platform === 'win32') return join('win32', appData(ctx), 'Zed');
  // macOS too: Zed keeps settings in ~/.config/zed, not Application Support.
  if (ctx.platform === 'linux' && ctx.env.FLATPAK_XDG_CONFIG_HOME) {
    return join('linux', ctx.env.FLATPAK_XDG_CONFIG_HOME, 'zed');
  }
  return join(
    ctx.platform,
    ctx.platform === 'darwin' ? join('darwin', ctx.home, '.config') : xdgConfig(ctx),
    'zed',
  );
}

/** Zed: top-level `context_servers` in its JSONC settings; current schema, `args` always present. */
export const zed: ClientAdapter = {
  id: 'zed',
  displayName: 'Zed',
  format: 'json',
  // serde_json_lenient: comments and trailing commas (Zed's own formatter writes them).
  dialect: JSONC,
  serversKey: ['context_servers'],
  configPaths: (ctx) => [{ path: join(ctx.platform, configDir(ctx), 'settings.json'), label: 'user' }],
  projectPaths: (dir, platform) => [{ path: join(platform, dir, '.zed', 'settings.json'), label: 'project' }],
  detectPaths: (ctx) => {
    const paths = [configDir(ctx)];
    if (ctx.platform === 'darwin') paths.push('/Applications/Zed.app');
    return paths;
  },
  buildEntry: (launch) => {
    const entry: Record<string, unknown> = { command: launch.command, args: launch.args };
    if (Object.keys(launch.env).length > 0) entry.env = launch.env;
    return entry;
  },
  readEntry(entry) {
    // The legacy form nests {path, args, env} under `command`.
    const command = (entry as { command?: unknown } | null)?.command;
    if (typeof command === 'object' && command !== null) {
      const legacy = command as { path?: unknown; args?: unknown; env?: unknown };
      return readPlainEntry({ command: legacy.path, args: legacy.args, env: legacy.env });
    }
    return readPlainEntry(entry);
  },
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: sdkInheritedEnv,
  envRule: SDK_ENV_RULE,
  reload: 'save settings.json in Zed (it restarts context servers), or restart Zed',
};
