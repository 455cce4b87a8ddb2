import {
  appSupport,
  join,
  localAppData,
  plainEntry,
  readPlainEntry,
  rewritePlainEntry,
  SDK_ENV_RULE,
  STRICT_JSON,
  sdkInheritedEnv,
} from './common.js';
import type { ClientAdapter } from './types.js';

const FILE = 'claude_desktop_config.json';

/** Claude Desktop: strict JSON; on Windows the MSIX build reads only its virtualised folder. */
export const claudeDesktop: ClientAdapter = {
  id: 'claude-desktop',
  displayName: 'Claude Desktop',
  format: 'json',
  // The app reads it with JSON.parse: a comment, trailing comma or BOM and its servers are ignored.
  dialect: STRICT_JSON,
  serversKey: ['mcpServers'],
  configPaths(ctx) {
    const classic = { path: join(ctx.platform, appSupport(ctx, 'Claude'), FILE), label: 'user' };
    if (ctx.platform !== 'win32') return [classic];
    // The publisher suffix is not hard-coded: every Claude_* package folder is probed.
    const msix = join(
      'win32',
      localAppData(ctx),
      'Packages',
      'Claude_*',
      'LocalCache',
      'Roaming',
      'Claude',
      FILE,
    );
    return [{ path: msix, label: 'MSIX' }, classic];
  },
  projectPaths: () => [],
  detectPaths(ctx) {
    if (ctx.platform === 'darwin') return ['/Applications/Claude.app', appSupport(ctx, 'Claude')];
    if (ctx.platform === 'win32') {
      return [appSupport(ctx, 'Claude'), join('win32', localAppData(ctx), 'Packages', 'Claude_*')];
    }
    return [appSupport(ctx, 'Claude')];
  },
  buildEntry: (launch) => plainEntry(launch),
  readEntry: (entry) => readPlainEntry(entry),
  rewriteEntry: rewritePlainEntry,
  inheritedEnv: sdkInheritedEnv,
  envRule: SDK_ENV_RULE,
  reload: 'quit Claude Desktop completely (Cmd+Q on macOS, the tray icon on Windows) and open it again',
};
