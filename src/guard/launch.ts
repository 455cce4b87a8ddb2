/** @module The command line an IDE runs to start sphyr-mcp. */

import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Launch, Platform } from '../../clients/types.js';
import { SphyrConfigError } from '../errors.js';

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
 * The installed @sphyr/sdk's `sphyr-mcp` bin, as an absolute path: resolved the way Node resolves the
 * package from here (the CLI's own dependency, or this repository's workspace link in development).
 * @throws {SphyrConfigError} `sdk_not_installed` when no @sphyr/sdk can be found.
 */
export function installedScript(): string {
  let manifestPath: string;
  try {
    manifestPath = createRequire(import.meta.url).resolve('@sphyr/sdk/package.json');
  } catch (error) {
    throw new SphyrConfigError(
      'sdk_not_installed',
      'cannot find the @sphyr/sdk package that provides sphyr-mcp; install it beside @sphyr/cli, or use --npx',
      { cause: error },
    );
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin?: Record<string, string> };
  return path.join(
    path.dirname(realpathSync(manifestPath)),
    manifest.bin?.['sphyr-mcp'] ?? 'bin/sphyr-mcp.js',
  );
}

/** True when `script` lives in npx's throwaway cache, which `npm cache clean` may empty at any time. */
export function inNpxCache(script: string): boolean {
  return script.split(/[\\/]/).includes('_npx');
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
