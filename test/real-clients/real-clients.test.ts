/**
 * Issue 13, "the real clients": guard against the clients' own parsers. The npm-distributed
 * clients (Claude Code, Codex, Gemini CLI, opencode; versions.json, installed by install.mjs into a
 * cache outside the repository) run offline in a network namespace (clients.ts: OFFLINE) on a fake
 * HOME with realistic configs. Each is asked for its MCP servers, which it starts and checks
 * (Codex through its app server). Checked:
 *  - the environment each client really gives a server is what guard's adapter says (item 14);
 *  - each client accepts or refuses comments, trailing commas and a BOM exactly as guard's dialect
 *    for it says (item 13);
 *  - after `guard init --wrap-existing` every client lists sphyr and it connects, the wrapped
 *    servers (Claude Code's local scope included) still connect, `codex doctor` finds nothing
 *    to warn about, and `guard doctor` passes for every entry against a real gateway (loopback);
 *  - after `guard remove` no client lists sphyr, and the files are as before, byte for byte
 *    where the client did not rewrite them itself.
 * Needs `npm run build` (the entries run bin/sphyr-mcp.js) and `node test/real-clients/install.mjs`.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientById } from '../../clients/index.js';
import type { ClientAdapter } from '../../clients/types.js';
import { readConfig } from '../../src/guard/editors.js';
import { ROOT, SPHYR_BIN } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import {
  ADAPTER,
  bin,
  clientEnv,
  interfacesSeen,
  listServers,
  notInstalled,
  OFFLINE,
  REAL,
  type RealClient,
  runOffline,
} from './clients.js';

const NODE = process.execPath;
const ENV_DUMP = path.join(ROOT, 'fixtures', 'mcp', 'env-dump-server.mjs');
/** What the clients' own environment holds besides clientEnv(): a credential, a plain and a secret-looking name. */
const PARENT_EXTRA = {
  SPHYR_CREDENTIAL: `sphyr.k_real1.${'r'.repeat(43)}`,
  SPHYR_GATEWAY_URL: 'http://127.0.0.1:9',
  PLAIN_VAR: '1',
  MY_API_TOKEN: 'not-a-real-token',
};

let home: string;
let work: string;
let gw: TestGateway;
const files: Record<RealClient, string> = { claude: '', codex: '', gemini: '', opencode: '' };

function adapter(client: RealClient): ClientAdapter {
  return clientById(ADAPTER[client]) as ClientAdapter;
}

/**
 * `sphyr <args>` (the built CLI) on the fake HOME, with nothing but PATH and HOME in its
 * environment. Asynchronous: the gateway it talks to runs in this process.
 */
async function sphyr(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(NODE, [SPHYR_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

async function writeConfigs(): Promise<void> {
  const dump = (name: string) => [ENV_DUMP, path.join(home, `env-${name}.json`)];
  files.claude = path.join(home, '.claude.json');
  await writeFile(
    files.claude,
    `${JSON.stringify(
      {
        numStartups: 12,
        installMethod: 'npm',
        autoUpdates: false,
        hasCompletedOnboarding: true,
        tipsHistory: { 'new-user-warmup': 3 },
        mcpServers: {
          probe: { type: 'stdio', command: NODE, args: dump('claude'), env: { PROBE_OWN: '1' } },
        },
        projects: {
          [work]: {
            allowedTools: [],
            hasTrustDialogAccepted: true,
            mcpServers: { localprobe: { type: 'stdio', command: NODE, args: dump('claude-local'), env: {} } },
          },
        },
      },
      null,
      2,
    )}\n`,
  );
  files.codex = path.join(home, '.codex', 'config.toml');
  await mkdir(path.dirname(files.codex), { recursive: true });
  await writeFile(
    files.codex,
    [
      '# my Codex settings',
      'model = "gpt-5-codex"',
      'approval_policy = "on-request"',
      '',
      `[projects.${JSON.stringify(work)}]`,
      'trust_level = "trusted"',
      '',
      '[mcp_servers.probe]',
      `command = ${JSON.stringify(NODE)}`,
      `args = ${JSON.stringify(dump('codex'))} # where the probe writes`,
      '',
    ].join('\n'),
  );
  files.gemini = path.join(home, '.gemini', 'settings.json');
  await mkdir(path.dirname(files.gemini), { recursive: true });
  await writeFile(
    files.gemini,
    `{\n  // my Gemini CLI settings\n  "privacy": { "usageStatisticsEnabled": false },\n  "mcpServers": {\n    "probe": { "command": ${JSON.stringify(NODE)}, "args": ${JSON.stringify(dump('gemini'))} }\n  }\n}\n`,
  );
  await writeFile(
    path.join(home, '.gemini', 'trustedFolders.json'),
    `${JSON.stringify({ [work]: 'TRUST_FOLDER' })}\n`,
  );
  files.opencode = path.join(home, '.config', 'opencode', 'opencode.jsonc');
  await mkdir(path.dirname(files.opencode), { recursive: true });
  await writeFile(
    files.opencode,
    `{\n  "$schema": "https://opencode.ai/config.json",\n  // my opencode settings\n  "autoupdate": false,\n  "mcp": {\n    "probe": { "type": "local", "command": ${JSON.stringify([NODE, ...dump('opencode')])}, "enabled": true },\n  },\n}\n`,
  );
}

beforeAll(async () => {
  const why = notInstalled();
  if (why) throw new Error(why);
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'mcp', 'main.js')))
    throw new Error('run `npm run build` first');
  home = await tempDir('sphyr-real-clients-');
  work = path.join(home, 'work');
  await mkdir(work);
  await writeConfigs();
  gw = await startTestGateway();
  await mkdir(path.join(home, '.sphyr'), { mode: 0o700 });
  await writeFile(
    path.join(home, '.sphyr', 'config.json'),
    `${JSON.stringify({ gateway: gw.gateway.url, credential: gw.credential.reveal() }, null, 2)}\n`,
    { mode: 0o600 },
  );
}, 60_000);

afterAll(async () => {
  await gw?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe.sequential(`the real clients (${OFFLINE.mode})`, () => {
  it('run without network: in their namespace the only interface is the loopback', () => {
    if (OFFLINE.prefix.length === 0) {
      console.warn('real clients: no network namespace here; only the environment keeps the clients offline');
      return;
    }
    expect(interfacesSeen()).toEqual(['lo']);
  });

  it.each(REAL)(
    "%s gives a stdio server exactly the environment guard's adapter says",
    async (client) => {
      const parent = clientEnv(home, PARENT_EXTRA);
      const listed = await listServers(client, home, work, PARENT_EXTRA);
      expect(listed.servers.get('probe'), listed.out).toBe(true);
      const seen = new Set(
        JSON.parse(await readFile(path.join(home, `env-${client}.json`), 'utf8')) as string[],
      );
      const entry =
        client === 'codex'
          ? (parseToml(await readFile(files.codex, 'utf8')) as { mcp_servers: Record<string, unknown> })
              .mcp_servers.probe
          : {};
      const model = adapter(client).inheritedEnv('linux', parent, entry);
      for (const name of Object.keys(parent)) {
        expect(seen.has(name), `${client} passes ${name}`).toBe(name in model);
      }
      expect(seen.has('SPHYR_CREDENTIAL')).toBe(client !== 'gemini' && client !== 'codex');
    },
    120_000,
  );

  /** A file with one `dialectprobe` server, in the client's format, with one twist. */
  function dialectFile(client: RealClient, variant: string, dir: string): { file: string; text: string } {
    const probe = { command: NODE, args: [ENV_DUMP, path.join(dir, 'dialect.json')] };
    if (client === 'codex') {
      const base = `model = "o3"\nx = { a = 1 }\n\n[mcp_servers.dialectprobe]\ncommand = ${JSON.stringify(NODE)}\nargs = ${JSON.stringify(probe.args)}\n`;
      const text =
        variant === 'bom'
          ? `\uFEFF${base}`
          : variant === 'inline-newline'
            ? base.replace('x = { a = 1 }', 'x = { a = 1,\n  b = 2 }')
            : `${base}\n[mcp_servers.dialectprobe]\ncommand = "again"\n`;
      return { file: path.join(dir, '.codex', 'config.toml'), text };
    }
    const key = client === 'opencode' ? 'mcp' : 'mcpServers';
    const entry = client === 'opencode' ? { type: 'local', command: [NODE, ...probe.args] } : probe;
    const servers = `{ "dialectprobe": ${JSON.stringify(entry)}${variant === 'trailing-comma' ? ',' : ''} }`;
    const body = `{\n${variant === 'comment' ? '  // a comment\n' : ''}  "${key}": ${servers}\n}\n`;
    const text = variant === 'bom' ? `\uFEFF${body}` : body;
    const file = {
      claude: path.join(dir, '.claude.json'),
      gemini: path.join(dir, '.gemini', 'settings.json'),
      opencode: path.join(dir, '.config', 'opencode', 'opencode.json'),
    }[client];
    return { file, text };
  }

  const DIALECT_CASES = [
    ...(['claude', 'gemini', 'opencode'] as const).flatMap((c) =>
      ['comment', 'trailing-comma', 'bom'].map((v) => [c, v] as [RealClient, string]),
    ),
    ...['bom', 'inline-newline', 'duplicate-table'].map((v) => ['codex', v] as [RealClient, string]),
  ];

  it.each(DIALECT_CASES)(
    '%s accepts a file with %s exactly when guard does',
    async (client, variant) => {
      const dir = await tempDir('sphyr-dialect-');
      try {
        const { file, text } = dialectFile(client, variant, dir);
        await mkdir(path.dirname(file), { recursive: true });
        await mkdir(path.join(dir, 'work'));
        await mkdir(path.join(dir, '.gemini'), { recursive: true });
        await writeFile(
          path.join(dir, '.gemini', 'trustedFolders.json'),
          JSON.stringify({ [path.join(dir, 'work')]: 'TRUST_FOLDER' }),
        );
        await writeFile(file, text);
        const listed = await listServers(client, dir, path.join(dir, 'work'), {}, { namesOnly: true });
        const clientAccepts = listed.servers.has('dialectprobe');
        const guardAccepts = await readConfig(adapter(client), text).then(
          () => true,
          () => false,
        );
        expect(guardAccepts, `${client} ${clientAccepts ? 'accepts' : 'refuses'} it:\n${listed.out}`).toBe(
          clientAccepts,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );

  const before: Record<string, string> = {};
  const afterInit: Record<string, string> = {};
  const afterUse: Record<string, string> = {};

  it('guard init --wrap-existing: every client lists sphyr and it connects; the wrapped servers still connect', async () => {
    for (const c of REAL) before[c] = await readFile(files[c], 'utf8');
    const init = await sphyr(['guard', 'init', '--yes', '--wrap-existing']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).not.toMatch(/^warning/m);
    for (const c of REAL) {
      afterInit[c] = await readFile(files[c], 'utf8');
      expect(afterInit[c], c).not.toBe(before[c]);
    }
    for (const c of REAL) {
      const listed = await listServers(c, home, work);
      expect(listed.servers.get('sphyr'), `${c}:\n${listed.out}`).toBe(true);
      expect(listed.servers.get('probe'), `${c}:\n${listed.out}`).toBe(true);
      if (c === 'claude') expect(listed.servers.get('localprobe'), listed.out).toBe(true);
      afterUse[c] = await readFile(files[c], 'utf8');
    }
    const claude = JSON.parse(afterUse.claude as string);
    expect(claude.projects[work].mcpServers.localprobe.args).toContain('--');
  }, 240_000);

  it('codex doctor finds nothing to warn about in the MCP entries (credential from sphyr login)', async () => {
    const ran = await runOffline(bin('codex'), ['doctor', '--json'], {
      cwd: work,
      env: clientEnv(home),
      timeoutMs: 90_000,
    });
    const report = JSON.parse(ran.stdout) as { checks: Record<string, { status: string; details?: object }> };
    const mcp = report.checks['mcp.config'];
    expect(mcp?.details, JSON.stringify(mcp)).not.toHaveProperty('sphyr');
    expect(mcp?.status, JSON.stringify(mcp)).toBe('ok');
  }, 120_000);

  it('guard doctor: every sphyr entry and every wrapped server passes, check_url answered by the gateway', async () => {
    const doctor = await sphyr(['guard', 'doctor']);
    const ok = doctor.stdout.split('\n').filter((l) => l.startsWith('✓'));
    expect(doctor.stdout).not.toMatch(/^✗/m);
    // sphyr in each of the four, and the five wrapped probes (Claude Code's local one included).
    expect(ok, doctor.stdout).toHaveLength(9);
    for (const line of ok) expect(line).toMatch(/the gateway answered check_url with its credential/);
    expect(doctor.code).toBe(0);
  }, 180_000);

  it('guard remove: no client lists sphyr, the probes are back, the files as before', async () => {
    const remove = await sphyr(['guard', 'remove', '--yes']);
    expect(remove.code, remove.stderr).toBe(0);
    // Codex, Gemini CLI and opencode leave their files alone; Claude Code rewrites ~/.claude.json.
    for (const c of ['codex', 'gemini', 'opencode'] as const) expect(afterUse[c], c).toBe(afterInit[c]);
    for (const c of REAL) {
      const now = await readFile(files[c], 'utf8');
      if (afterUse[c] === afterInit[c])
        expect(now, `${c} did not rewrite its file: byte for byte`).toBe(before[c]);
      else {
        // The client rewrote its own file meanwhile (Claude Code does): the servers are as before.
        const servers = (text: string) => {
          const doc = parseJsonc(text);
          return { user: doc.mcpServers, local: doc.projects?.[work]?.mcpServers };
        };
        expect(servers(now), c).toEqual(servers(before[c] as string));
      }
      const listed = await listServers(c, home, work);
      expect(listed.servers.has('sphyr'), `${c}:\n${listed.out}`).toBe(false);
      expect(listed.servers.get('probe'), `${c}:\n${listed.out}`).toBe(true);
    }
  }, 240_000);
});
