/** @module The command line an IDE runs to start sphyr-mcp. */

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Launch, Platform } from '../../clients/types.js';

export interface LaunchOptions {
  platform: Platform;
  /** The seed's `npx -y -p @sphyr/sdk sphyr-mcp` instead of node by absolute path. */
  npx?: boolean;
  /** SPHYR_CREDENTIAL and SPHYR_GATEWAY_URL written into the entry (only with --embed-credential). */
  env?: Record<string, string>;
  /** Variables the client should pass on from its environment (Codex `env_vars`). */
  forward?: string[];
  /** The node binary and sphyr-mcp script; default: this process's node and this package's bin. */
  nodePath?: string;
  scriptPath?: string;
}

/**
 * This package's bin/sphyr-mcp.js, as an absolute path: found by walking up to our package.json,
 * since this code runs from src/ (tests), dist/src/ or the bundled dist/cli/.
 */
export function installedScript(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && /"name":\s*"@sphyr\/sdk"/.test(readFileSync(manifest, 'utf8'))) {
      return path.join(dir, 'bin', 'sphyr-mcp.js');
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the @sphyr/sdk package that holds this file');
    dir = parent;
  }
}

const NPX_ARGS = ['-y', '-p', '@sphyr/sdk', 'sphyr-mcp'];

/**
 * Node by absolute path on the installed script: GUI apps do not see nvm or brew PATHs, and an
 * `npx` shim would run under whatever node the app finds first.
 */
export function sphyrLaunch(options: LaunchOptions): Launch {
  const env = options.env ?? {};
  const forward = options.forward?.length ? { forward: options.forward } : {};
  if (options.npx) {
    // Windows cannot spawn the npx.cmd shim without a shell.
    return options.platform === 'win32'
      ? { command: 'cmd', args: ['/c', 'npx', ...NPX_ARGS], env, ...forward }
      : { command: 'npx', args: NPX_ARGS, env, ...forward };
  }
  return {
    command: options.nodePath ?? process.execPath,
    args: [options.scriptPath ?? installedScript()],
    env,
    ...forward,
  };
}

/** Every command line guard writes for sphyr-mcp on `platform`: node by absolute path, and npx. */
export function ourLaunches(platform: Platform): Launch[] {
  return [sphyrLaunch({ platform }), sphyrLaunch({ platform, npx: true })];
}

/** Whether an entry's command line already runs sphyr-mcp (so --wrap-existing leaves it alone). */
export function runsSphyrMcp(launch: Launch): boolean {
  return [launch.command, ...launch.args].some((part) => /sphyr-mcp(\.js)?$/.test(part));
}

/** Wrap an upstream server: `sphyr-mcp -- <its command> <its args>`. */
export function wrapLaunch(sphyr: Launch, upstream: Launch): Launch {
  return {
    command: sphyr.command,
    args: [...sphyr.args, '--', upstream.command, ...upstream.args],
    env: upstream.env,
    ...(sphyr.forward ? { forward: sphyr.forward } : {}),
  };
}
