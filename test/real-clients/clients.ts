/**
 * The real IDE clients, run offline: where install.mjs put them, how to run one without network,
 * and how to read each one's list of MCP servers (with its health check, where it does one).
 */

import { type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const VERSIONS = JSON.parse(readFileSync(path.join(here, 'versions.json'), 'utf8')) as Record<
  string,
  string
>;
export const CLIENTS_DIR =
  process.env.SPHYR_REAL_CLIENTS_DIR || path.join(os.homedir(), '.cache', 'sphyr-real-clients');

export type RealClient = 'claude' | 'codex' | 'gemini' | 'opencode';
export const REAL: readonly RealClient[] = ['claude', 'codex', 'gemini', 'opencode'];
/** The guard adapter for each. */
export const ADAPTER: Record<RealClient, string> = {
  claude: 'claude-code',
  codex: 'codex',
  gemini: 'gemini-cli',
  opencode: 'opencode',
};

export function bin(client: RealClient): string {
  return path.join(CLIENTS_DIR, 'node_modules', '.bin', client);
}

/** Why the clients cannot run (not installed, wrong version), or undefined. */
export function notInstalled(): string | undefined {
  for (const [name, version] of Object.entries(VERSIONS)) {
    const manifest = path.join(CLIENTS_DIR, 'node_modules', name, 'package.json');
    const found = existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')).version : undefined;
    if (found !== version) {
      return `${name}@${version} is not in ${CLIENTS_DIR} (found ${found ?? 'nothing'}): run \`node test/real-clients/install.mjs\` (npm test does)`;
    }
  }
  return undefined;
}

/**
 * How the clients run without network: in a network namespace of their own, which has only a
 * loopback interface, and that one down (`unshare -rn` needs no root; as root `unshare -n`). Where
 * neither works, only the environment keeps them quiet (updates and telemetry off, proxies at a
 * dead loopback port), and `mode` says so.
 */
export const OFFLINE: { prefix: string[]; mode: string } = (() => {
  if (spawnSync('unshare', ['-rn', 'true']).status === 0) {
    return { prefix: ['unshare', '-rn', '--'], mode: 'unshare -rn' };
  }
  if (process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'true']).status === 0) {
    return { prefix: ['unshare', '-n', '--'], mode: 'unshare -n' };
  }
  return { prefix: [], mode: 'environment only' };
})();

/** The network interfaces a client sees (/proc/net/dev is per network namespace): ['lo'] in ours. */
export function interfacesSeen(): string[] {
  const [head, ...rest] = [...OFFLINE.prefix, 'cat', '/proc/net/dev'];
  const run = spawnSync(head as string, rest, { encoding: 'utf8' });
  return run.stdout
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0]?.trim() ?? '')
    .filter(Boolean);
}

/** The environment every client gets: a fake HOME, node on PATH, no updates, no telemetry. */
export function clientEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const dead = 'http://127.0.0.1:9';
  return {
    PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: home,
    TERM: 'dumb',
    NO_COLOR: '1',
    LANG: 'C.UTF-8',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    OPENCODE_DISABLE_AUTOUPDATE: 'true',
    OPENCODE_DISABLE_MODELS_FETCH: 'true',
    GEMINI_CLI_NO_RELAUNCH: 'true',
    HTTP_PROXY: dead,
    HTTPS_PROXY: dead,
    ALL_PROXY: dead,
    ...extra,
  };
}

export interface Ran {
  code: number | null;
  /** stdout and stderr together. */
  out: string;
  stdout: string;
}

/** Run a client command offline in `cwd`; stdout and stderr together, ANSI colours stripped. */
export function runOffline(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs?: number; input?: string },
): Promise<Ran> {
  const [head, ...rest] = [...OFFLINE.prefix, command, ...args];
  const spawnOptions: SpawnOptions = { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] };
  const child = spawn(head as string, rest, spawnOptions);
  let out = '';
  let stdout = '';
  child.stdout?.on('data', (c) => {
    out += c;
    stdout += c;
  });
  child.stderr?.on('data', (c) => {
    out += c;
  });
  child.stdin?.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences
      resolve({ code, out: out.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, ''), stdout });
    }),
  );
}

export interface Listed {
  /** Server name → whether the client says it connected (undefined: the client does not check). */
  servers: Map<string, boolean | undefined>;
  out: string;
}

/** Codex checks servers only in its app server: `mcpServerStatus/list` starts each one. */
async function codexStatus(home: string, cwd: string, extra: Record<string, string>): Promise<Listed> {
  const requests = [
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { clientInfo: { name: 'sphyr-test', version: '1' } },
    },
    { jsonrpc: '2.0', method: 'initialized' },
    { jsonrpc: '2.0', id: 2, method: 'mcpServerStatus/list', params: {} },
  ];
  const [head, ...rest] = [...OFFLINE.prefix, bin('codex'), 'app-server'];
  const child = spawn(head as string, rest, {
    cwd,
    env: clientEnv(home, extra),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let buffer = '';
  let log = '';
  child.stderr.on('data', (c) => {
    log += c;
  });
  const answer = await new Promise<Record<string, unknown> | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 60_000);
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i !== -1; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        log += `${line.slice(0, 400)}\n`;
        const message = JSON.parse(line) as { id?: number; result?: Record<string, unknown> };
        if (message.id === 2) {
          clearTimeout(timer);
          resolve(message.result);
        }
      }
    });
    for (const r of requests) child.stdin.write(`${JSON.stringify(r)}\n`);
  });
  child.stdin.end();
  child.kill('SIGTERM');
  const servers = new Map<string, boolean | undefined>();
  for (const s of (answer?.data ?? []) as Array<{ name: string; serverInfo?: unknown; tools?: object }>) {
    servers.set(
      s.name,
      s.serverInfo !== null && s.serverInfo !== undefined && Object.keys(s.tools ?? {}).length > 0,
    );
  }
  return { servers, out: log };
}

/**
 * Ask a client for its MCP servers: `claude|gemini|opencode mcp list` (each starts every server
 * and says whether it connected); for Codex, `codex mcp list --json` for the names and its app
 * server for the connection check.
 */
export async function listServers(
  client: RealClient,
  home: string,
  cwd: string,
  extra: Record<string, string> = {},
  options: { namesOnly?: boolean } = {},
): Promise<Listed> {
  if (client === 'codex') {
    const listed = await runOffline(bin('codex'), ['mcp', 'list', '--json'], {
      cwd,
      env: clientEnv(home, extra),
    });
    if (listed.code !== 0) return { servers: new Map(), out: listed.out };
    const names = (JSON.parse(listed.stdout) as Array<{ name: string }>).map((s) => s.name);
    if (options.namesOnly) return { servers: new Map(names.map((n) => [n, undefined])), out: listed.out };
    const status = await codexStatus(home, cwd, extra);
    const servers = new Map<string, boolean | undefined>(
      names.map((n) => [n, status.servers.get(n) ?? false]),
    );
    return { servers, out: `${listed.out}\n${status.out}` };
  }
  const ran = await runOffline(bin(client), ['mcp', 'list'], { cwd, env: clientEnv(home, extra) });
  const servers = new Map<string, boolean | undefined>();
  for (const raw of ran.out.split('\n')) {
    const line = raw.trim();
    let m: RegExpMatchArray | null = null;
    if (client === 'claude') {
      m = line.match(/^([\w.-]+): .* - (✔|✓|✗|!)\s*(.*)$/);
      if (m) servers.set(m[1] as string, /Connected/.test(m[3] ?? '') && m[2] !== '✗');
    } else if (client === 'gemini') {
      m = line.match(/^(✓|✗|○|…)\s+([\w.-]+): .* - (\w+)/);
      if (m) servers.set(m[2] as string, m[3] === 'Connected');
    } else {
      m = line.match(/^●?\s*(✓|✗|○)\s+([\w.-]+)\s+(.*)$/);
      if (m) servers.set(m[2] as string, m[1] === '✓' && /connected/.test(m[3] ?? ''));
    }
  }
  return { servers, out: ran.out };
}
