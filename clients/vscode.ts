import {
  appSupport,
  JSONC,
  join,
  plainEntry,
  readPlainEntry,
  rewritePlainEntry,
  SDK_ENV_RULE,
  sdkInheritedEnv,
} from './common.js';
import type { ClientAdapter, PathContext } from './types.js';

function userDir(ctx: PathContext, product: string): string {
  return join(ctx.platform, appSupport(ctx, product), 'User');
}

function makeVsCode(id: string, displayName: string, product: string): ClientAdapter {
  return {
    id,
    displayName,
    format: 'json',
    // VS Code's jsonc parser with allowTrailingComma; its file service drops a BOM.
    dialect: JSONC,
    serversKey: ['servers'],
    // The default profile's mcp.json, and each other profile's own (servers do not cross profiles).
    configPaths: (ctx) => [
      { path: join(ctx.platform, userDir(ctx, product), 'mcp.json'), label: 'default profile' },
      { path: join(ctx.platform, userDir(ctx, product), 'profiles', '*', 'mcp.json'), label: 'profile' },
    ],
    projectPaths: (dir, platform) => [{ path: join(platform, dir, '.vscode', 'mcp.json'), label: 'project' }],
    detectPaths: (ctx) => [userDir(ctx, product)],
    buildEntry: (launch) => plainEntry(launch, { type: 'stdio' }),
    readEntry: (entry) => readPlainEntry(entry),
    rewriteEntry: rewritePlainEntry,
    inheritedEnv: sdkInheritedEnv,
    envRule: SDK_ENV_RULE,
    reload: 'run "MCP: List Servers" and start sphyr (or "Developer: Reload Window")',
    projectReload:
      'run "MCP: List Servers" and start sphyr; VS Code asks you to trust a workspace server the first time',
  };
}

/** VS Code: JSONC `servers` in the profile's mcp.json (never settings.json). */
export const vscode = makeVsCode('vscode', 'VS Code', 'Code');
export const vscodeInsiders = makeVsCode('vscode-insiders', 'VS Code Insiders', 'Code - Insiders');
