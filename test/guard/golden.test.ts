/**
 * Golden files for `guard init` / `guard remove`: for each main client, platform and fixture in
 * fixtures/clients/<id>/ (see its README), init must produce the expected bytes exactly, a second
 * init must change nothing, and remove must give back the original bytes.
 *
 * Regenerate the expected files after an intended change with
 *   UPDATE_GUARD_GOLDENS=1 npx vitest run test/guard/golden.test.ts
 * and read every diff before committing it.
 */

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import { clientById } from '../../clients/index.js';
import type { ClientAdapter, Launch, Platform } from '../../clients/types.js';
import { jsoncEditor } from '../../src/guard/json-editor.js';
import { sphyrLaunch } from '../../src/guard/launch.js';
import { changed, type FilePlan } from '../../src/guard/plan.js';
import { type GuardHost, localPath } from '../../src/guard/platform.js';
import { applyPlans, planInitAll, planRemoveAll } from '../../src/guard/run.js';
import { isDetected } from '../../src/guard/targets.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = path.join(ROOT, 'fixtures', 'clients');
const UPDATE = process.env.UPDATE_GUARD_GOLDENS === '1';

const PLATFORMS: readonly Platform[] = ['darwin', 'win32', 'linux'];

/**
 * Per client: the fixtures init is run on (a `missing.*` name is the file not existing yet) and the
 * one that does not parse.
 */
const CASES: Record<string, { inputs: string[]; malformed: string }> = {
  'claude-desktop': {
    inputs: [
      'claude_desktop_config.basic.json',
      'claude_desktop_config.crlf.json',
      'empty.json',
      'missing.json',
    ],
    malformed: 'malformed.json',
  },
  'claude-code': {
    inputs: ['claude.basic.json', 'claude.crlf.json', 'empty.json', 'missing.json'],
    malformed: 'malformed.json',
  },
  cursor: {
    inputs: ['mcp.basic.json', 'mcp.crlf.json', 'empty.json', 'missing.json'],
    malformed: 'malformed.json',
  },
  vscode: {
    inputs: ['mcp.basic.json', 'mcp.crlf.json', 'mcp.bom.json', 'empty.json', 'missing.json'],
    malformed: 'malformed.json',
  },
  zed: {
    inputs: [
      'settings.basic.json',
      'settings.default.json',
      'settings.crlf.json',
      'settings.bom.json',
      'empty.json',
      'missing.json',
    ],
    malformed: 'malformed.json',
  },
  windsurf: {
    inputs: ['mcp_config.basic.json', 'mcp_config.crlf.json', 'empty.json', 'missing.json'],
    malformed: 'malformed.json',
  },
  codex: {
    inputs: ['config.basic.toml', 'config.crlf.toml', 'empty.toml', 'missing.toml'],
    malformed: 'malformed.toml',
  },
  antigravity: {
    inputs: ['mcp_config.basic.json', 'mcp_config.crlf.json', 'empty.json', 'missing.json'],
    malformed: 'malformed.json',
  },
};

// ---------------------------------------------------------------------------------------------
// Helpers

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

/** A described machine under a fresh temp dir. */
async function machine(platform: Platform): Promise<GuardHost> {
  const fsRoot = await mkdtemp(path.join(os.tmpdir(), `sphyr-golden-${platform}-`));
  roots.push(fsRoot);
  if (platform === 'win32') {
    const home = 'C:\\Users\\me';
    const env = {
      USERPROFILE: home,
      APPDATA: `${home}\\AppData\\Roaming`,
      LOCALAPPDATA: `${home}\\AppData\\Local`,
    };
    return { platform, home, env, fsRoot, now: () => new Date('2026-09-01T12:00:00Z') };
  }
  const home = platform === 'darwin' ? '/Users/me' : '/home/me';
  return { platform, home, env: { HOME: home }, fsRoot, now: () => new Date('2026-09-01T12:00:00Z') };
}

/** The fixed launch the goldens were written with. */
function launchFor(platform: Platform): Launch {
  const win = platform === 'win32';
  return sphyrLaunch({
    platform,
    nodePath: win ? 'C:\\Program Files\\nodejs\\node.exe' : '/usr/local/bin/node',
    scriptPath: win
      ? 'C:\\Users\\me\\AppData\\Roaming\\npm\\node_modules\\@sphyr\\sdk\\bin\\sphyr-mcp.js'
      : '/usr/local/lib/node_modules/@sphyr/sdk/bin/sphyr-mcp.js',
  });
}

function adapter(id: string): ClientAdapter {
  const client = clientById(id);
  if (!client) throw new Error(`no client ${id}`);
  return client;
}

/** The client's main user file (the first location without a `*`), as the platform spells it. */
function userFile(host: GuardHost, client: ClientAdapter): string {
  const location = client.configPaths(host).find((l) => !l.path.includes('*'));
  if (!location) throw new Error(`${client.id} has no plain user path`);
  return location.path;
}

function dirOf(host: GuardHost, file: string): string {
  return host.platform === 'win32' ? path.win32.dirname(file) : path.posix.dirname(file);
}

/**
 * "Install" the client: create its detection folders and the folder of `file`. Left out: globs,
 * the config file itself (~/.claude.json is a detect path) and folders of its other config
 * locations (Antigravity's second folder would add a second file to every case).
 */
async function install(host: GuardHost, client: ClientAdapter, file: string): Promise<void> {
  const otherDirs = client
    .configPaths(host)
    .map((l) => dirOf(host, l.path))
    .filter((d) => d !== dirOf(host, file));
  for (const p of client.detectPaths(host)) {
    if (p.includes('*') || p === file || otherDirs.includes(p)) continue;
    await mkdir(localPath(host, p), { recursive: true });
  }
  await mkdir(localPath(host, dirOf(host, file)), { recursive: true });
}

/** File bytes as a latin1 string: byte-exact (BOM, CRLF) and still a readable diff. */
async function bytes(file: string): Promise<string> {
  return (await readFile(file)).toString('latin1');
}

function fixture(id: string, name: string): string {
  return path.join(FIXTURES, id, name);
}

function isMissing(name: string): boolean {
  return name.startsWith('missing.');
}

/** `x.basic.json` → `x.basic.expected-win32.json`. */
function goldenName(name: string, platform: Platform): string {
  return name.replace(/\.(json|toml)$/, `.expected-${platform}.$1`);
}

async function expectGolden(actualFile: string, id: string, name: string, platform: Platform) {
  const golden = fixture(id, goldenName(name, platform));
  const actual = await bytes(actualFile);
  if (UPDATE) await writeFile(golden, actual, 'latin1');
  expect(actual, `${actualFile} vs ${golden}`).toBe(await bytes(golden));
}

/** Copy a fixture (or nothing, for `missing.*`) to `file` on the described machine. */
async function place(host: GuardHost, id: string, name: string, file: string): Promise<string | undefined> {
  if (isMissing(name)) return undefined;
  const original = await bytes(fixture(id, name));
  await writeFile(localPath(host, file), original, 'latin1');
  return original;
}

function ofClient(plans: FilePlan[], id: string): FilePlan[] {
  return plans.filter((p) => p.target.client.id === id);
}

async function init(host: GuardHost, id: string, wrapExisting = false): Promise<FilePlan[]> {
  const plans = ofClient(
    await planInitAll(host, { clients: [] }, launchFor(host.platform), wrapExisting),
    id,
  );
  for (const plan of plans) expect(plan.error).toBeUndefined();
  const results = await applyPlans(host, plans, 'init');
  for (const r of results) expect(r.error).toBeUndefined();
  return plans;
}

async function remove(host: GuardHost, id: string): Promise<void> {
  const plans = ofClient(await planRemoveAll(host, { clients: [] }), id);
  for (const plan of plans) expect(plan.error).toBeUndefined();
  const results = await applyPlans(host, plans, 'remove');
  for (const r of results) expect(r.error).toBeUndefined();
}

async function backupsIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.includes('.sphyr-backup-'));
}

// ---------------------------------------------------------------------------------------------
// The table: client × platform × fixture

describe.each(Object.entries(CASES))('%s', (id, { inputs, malformed }) => {
  const client = adapter(id);

  describe.each(PLATFORMS)('on %s', (platform) => {
    it.each(inputs)('%s: init gives the golden bytes, re-init is a no-op, remove restores', async (name) => {
      const host = await machine(platform);
      const file = userFile(host, client);
      const local = localPath(host, file);
      await install(host, client, file);
      expect(await isDetected(host, client)).toBe(true);
      const original = await place(host, id, name, file);

      const plans = await init(host, id);
      expect(plans.map((p) => p.target.file)).toEqual([file]);
      await expectGolden(local, id, name, platform);
      const initialized = await bytes(local);

      const again = ofClient(await planInitAll(host, { clients: [] }, launchFor(platform), false), id);
      expect(again.length).toBe(1);
      expect(again.filter(changed)).toEqual([]);
      await applyPlans(host, again, 'init');
      expect(await bytes(local)).toBe(initialized);

      await remove(host, id);
      if (original === undefined) {
        expect(existsSync(local)).toBe(false);
        expect(existsSync(path.dirname(local))).toBe(true);
      } else {
        expect(await bytes(local)).toBe(original);
      }
    });

    it(`${malformed}: init reports the file and writes nothing`, async () => {
      const host = await machine(platform);
      const file = userFile(host, client);
      const local = localPath(host, file);
      await install(host, client, file);
      const original = await place(host, id, malformed, file);

      const plans = ofClient(await planInitAll(host, { clients: [] }, launchFor(platform), false), id);
      expect(plans.length).toBe(1);
      const [plan] = plans as [FilePlan];
      expect(plan.error?.code).toBe('config_parse_error');
      expect(plan.error?.message).toContain(file);
      expect(changed(plan)).toBe(false);
      const results = await applyPlans(host, plans, 'init');
      expect(results).toEqual([]);
      expect(await bytes(local)).toBe(original);
      expect(await backupsIn(path.dirname(local))).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Several files for one client

describe('Claude Desktop on Windows: the MSIX folder', () => {
  const msixDir =
    'C:\\Users\\me\\AppData\\Local\\Packages\\Claude_pzs8sxrjxfjjc\\LocalCache\\Roaming\\Claude';
  const msix = `${msixDir}\\claude_desktop_config.json`;
  const classic = 'C:\\Users\\me\\AppData\\Roaming\\Claude\\claude_desktop_config.json';

  it('writes the MSIX file and the %APPDATA% one when both folders exist', async () => {
    const host = await machine('win32');
    await mkdir(localPath(host, msixDir), { recursive: true });
    await mkdir(localPath(host, dirOf(host, classic)), { recursive: true });
    const original = await place(host, 'claude-desktop', 'claude_desktop_config.basic.json', classic);

    const plans = await init(host, 'claude-desktop');
    expect(plans.map((p) => [p.target.label, p.target.file])).toEqual([
      ['MSIX', msix],
      ['user', classic],
    ]);
    await expectGolden(localPath(host, msix), 'claude-desktop', 'missing.json', 'win32');
    await expectGolden(
      localPath(host, classic),
      'claude-desktop',
      'claude_desktop_config.basic.json',
      'win32',
    );

    await remove(host, 'claude-desktop');
    expect(existsSync(localPath(host, msix))).toBe(false);
    expect(existsSync(localPath(host, msixDir))).toBe(true);
    expect(await bytes(localPath(host, classic))).toBe(original);
  });

  it('writes only the MSIX file when %APPDATA%\\Claude does not exist', async () => {
    const host = await machine('win32');
    await mkdir(localPath(host, msixDir), { recursive: true });
    await place(host, 'claude-desktop', 'claude_desktop_config.crlf.json', msix);

    const plans = await init(host, 'claude-desktop');
    expect(plans.map((p) => p.target.file)).toEqual([msix]);
    await expectGolden(localPath(host, msix), 'claude-desktop', 'claude_desktop_config.crlf.json', 'win32');
    expect(existsSync(localPath(host, dirOf(host, classic)))).toBe(false);
  });
});

describe.each(PLATFORMS)('VS Code profiles on %s', (platform) => {
  it('adds the entry to the default profile and to User/profiles/abc123/mcp.json', async () => {
    const host = await machine(platform);
    const client = adapter('vscode');
    const main = userFile(host, client);
    const sep = platform === 'win32' ? '\\' : '/';
    const profile = [dirOf(host, main), 'profiles', 'abc123', 'mcp.json'].join(sep);
    await install(host, client, main);
    await mkdir(localPath(host, dirOf(host, profile)), { recursive: true });
    const mainOriginal = await place(host, 'vscode', 'mcp.crlf.json', main);
    const profileOriginal = await place(host, 'vscode', 'mcp.basic.json', profile);

    const plans = await init(host, 'vscode');
    expect(plans.map((p) => p.target.file)).toEqual([main, profile]);
    await expectGolden(localPath(host, main), 'vscode', 'mcp.crlf.json', platform);
    await expectGolden(localPath(host, profile), 'vscode', 'mcp.basic.json', platform);

    await remove(host, 'vscode');
    expect(await bytes(localPath(host, main))).toBe(mainOriginal);
    expect(await bytes(localPath(host, profile))).toBe(profileOriginal);
  });
});

describe.each(PLATFORMS)('Antigravity on %s', (platform) => {
  const gemini = (host: GuardHost, ...parts: string[]) =>
    [host.home, '.gemini', ...parts].join(platform === 'win32' ? '\\' : '/');

  it('writes both ~/.gemini/config and ~/.gemini/antigravity when both exist', async () => {
    const host = await machine(platform);
    const v2 = gemini(host, 'config', 'mcp_config.json');
    const v1 = gemini(host, 'antigravity', 'mcp_config.json');
    await mkdir(localPath(host, gemini(host, 'config')), { recursive: true });
    await mkdir(localPath(host, gemini(host, 'antigravity')), { recursive: true });
    const original = await place(host, 'antigravity', 'mcp_config.basic.json', v2);

    const plans = await init(host, 'antigravity');
    expect(plans.map((p) => p.target.file)).toEqual([v2, v1]);
    await expectGolden(localPath(host, v2), 'antigravity', 'mcp_config.basic.json', platform);
    await expectGolden(localPath(host, v1), 'antigravity', 'missing.json', platform);

    await remove(host, 'antigravity');
    expect(await bytes(localPath(host, v2))).toBe(original);
    expect(existsSync(localPath(host, v1))).toBe(false);
  });

  it('is not detected from ~/.gemini alone (that is Gemini CLI)', async () => {
    const host = await machine(platform);
    await mkdir(localPath(host, gemini(host)), { recursive: true });
    await writeFile(localPath(host, gemini(host, 'settings.json')), '{}\n');
    expect(await isDetected(host, adapter('antigravity'))).toBe(false);
    const plans = await planInitAll(host, { clients: [] }, launchFor(platform), false);
    expect(ofClient(plans, 'antigravity')).toEqual([]);
    expect(ofClient(plans, 'gemini-cli').length).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// --wrap-existing

/** What --wrap-existing makes of a stdio server: sphyr-mcp in front of its command line. */
function wrapped(launch: Launch, command: string, args: string[]): { command: string; args: string[] } {
  return { command: launch.command, args: [...launch.args, '--', command, ...args] };
}

const WRAP_CASES = [
  {
    id: 'cursor',
    name: 'mcp.basic.json',
    parse: (text: string) => jsoncEditor.parse(text).mcpServers as Record<string, Record<string, unknown>>,
  },
  {
    id: 'codex',
    name: 'config.basic.toml',
    parse: (text: string) => parseToml(text).mcp_servers as Record<string, Record<string, unknown>>,
  },
];

describe.each(WRAP_CASES)('--wrap-existing: $id', ({ id, name, parse }) => {
  it.each(PLATFORMS)('on %s wraps stdio servers, keeps env, and remove restores them', async (platform) => {
    const host = await machine(platform);
    const client = adapter(id);
    const file = userFile(host, client);
    const local = localPath(host, file);
    await install(host, client, file);
    const original = (await place(host, id, name, file)) as string;
    const before = parse(original);
    const launch = launchFor(platform);

    const plans = await init(host, id, true);
    expect(plans.length).toBe(1);
    const after = parse(await readFile(local, 'utf8'));

    const stdio = Object.entries(before).filter(([, e]) => typeof e.command === 'string');
    expect(stdio.length).toBeGreaterThanOrEqual(2);
    for (const [server, entry] of stdio) {
      expect(after[server]).toEqual({
        ...entry,
        ...wrapped(launch, entry.command as string, (entry.args ?? []) as string[]),
      });
    }
    // Remote servers are left alone, and ours is there once.
    for (const [server, entry] of Object.entries(before)) {
      if (typeof entry.command !== 'string') expect(after[server]).toEqual(entry);
    }
    expect(after.sphyr).toEqual(expect.objectContaining({ command: launch.command, args: launch.args }));
    expect(Object.keys(after).sort()).toEqual([...Object.keys(before), 'sphyr'].sort());

    // A second init (with or without wrapping) changes nothing: wrapped servers are not wrapped twice.
    const again = ofClient(await planInitAll(host, { clients: [] }, launch, true), id);
    expect(again.filter(changed)).toEqual([]);

    await remove(host, id);
    expect(await bytes(local)).toBe(original);
  });
});
