/**
 * `sphyr guard …` end to end: the built CLI spawned with HOME set to a temp dir holding the
 * folders that make each client "detected". Spawned processes have no TTY, so every run is
 * non-interactive.
 */

import { randomBytes } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENTS } from '../../clients/index.js';
import { type CliResult, ROOT, runCli } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';

const SPHYR_MCP = path.join(ROOT, 'packages', 'sdk', 'bin', 'sphyr-mcp.js');
const NPX_ARGS = ['-y', '-p', '@sphyr/sdk', 'sphyr-mcp'];
/** Variables that move config files or carry a credential: blank, so the host's never leak in. */
const CLEAN_ENV: Record<string, string> = {
  XDG_CONFIG_HOME: '',
  FLATPAK_XDG_CONFIG_HOME: '',
  CODEX_HOME: '',
  CLAUDE_CONFIG_DIR: '',
  APPDATA: '',
  LOCALAPPDATA: '',
  SPHYR_CREDENTIAL: '',
  SPHYR_GATEWAY_URL: '',
};
const IS_ROOT = process.getuid?.() === 0;

const dirs: string[] = [];
/** A real gateway for doctor, which checks that check_url reaches it with the credential. */
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** ~/.sphyr/config.json as `sphyr login` writes it, for the test gateway. */
function loggedIn(): string {
  return `${JSON.stringify({ gateway: gw.gateway.url, credential: gw.credential.reveal() }, null, 2)}\n`;
}

/** A temp HOME with these files (string) and folders (null). */
async function makeHome(layout: Record<string, string | null> = {}): Promise<string> {
  const home = await tempDir('sphyr-guard-e2e-');
  dirs.push(home);
  for (const [rel, content] of Object.entries(layout)) {
    const p = path.join(home, rel);
    if (content === null) {
      await mkdir(p, { recursive: true });
    } else {
      await mkdir(path.dirname(p), { recursive: true });
      await writeFile(p, content);
    }
  }
  return home;
}

function sphyr(home: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { ...CLEAN_ENV, HOME: home, ...env });
}

/** Every file, folder and link under `dir`: relative path → "dir", "link -> <to>" or "<mode> <content>". */
async function tree(
  dir: string,
  skip: (rel: string) => boolean = () => false,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string): Promise<void> {
    for (const name of await readdir(path.join(dir, rel))) {
      const r = path.join(rel, name);
      if (skip(r)) continue;
      const info = await lstat(path.join(dir, r));
      if (info.isSymbolicLink()) {
        out[r] = `link -> ${await readlink(path.join(dir, r))}`;
      } else if (info.isDirectory()) {
        out[r] = 'dir';
        await walk(r);
      } else {
        out[r] = `${(info.mode & 0o777).toString(8)} ${await readFile(path.join(dir, r), 'utf8')}`;
      }
    }
  }
  await walk('');
  return out;
}

async function mode(p: string): Promise<number> {
  return (await stat(p)).mode & 0o777;
}

/** A parsed config document, indexed freely in assertions. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary config documents
type Doc = Record<string, any>;

async function json(p: string): Promise<Doc> {
  return JSON.parse(await readFile(p, 'utf8'));
}

/** Backups and temp files guard may leave next to a file. */
async function litter(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((n) => n.includes('.sphyr-backup-') || n.endsWith('.tmp'));
}

const NODE_ENTRY = { command: process.execPath, args: [SPHYR_MCP] };

describe('guard init: preview and confirmation', () => {
  const layout = {
    '.cursor/mcp.json':
      '{\n  "mcpServers": {\n    "other": { "command": "uvx", "args": ["other-mcp"] }\n  }\n}\n',
    '.codeium/windsurf': null,
    '.codex/config.toml': '# mine\nmodel = "o3"\n',
  };

  it('--dry-run prints a unified diff on stdout and writes nothing', async () => {
    const home = await makeHome(layout);
    const before = await tree(home);
    const result = await sphyr(home, ['guard', 'init', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('+++');
    expect(result.stdout).toContain('---');
    expect(result.stdout).toMatch(/^@@ /m);
    expect(result.stdout).toContain('"sphyr"');
    expect(result.stdout).toContain('[mcp_servers.sphyr]');
    expect(result.stdout).toContain(path.join(home, '.cursor', 'mcp.json'));
    expect(result.stdout).toContain(path.join(home, '.codeium', 'windsurf', 'mcp_config.json'));
    expect(result.stderr).toMatch(/Dry run/);
    expect(result.stderr).toMatch(/nothing was written/);
    expect(await tree(home)).toEqual(before);
  });

  it('without a terminal and without --yes: exits non-zero, says to pass --yes, writes nothing', async () => {
    const home = await makeHome(layout);
    const before = await tree(home);
    const result = await sphyr(home, ['guard', 'init']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/pass --yes/);
    expect(result.stdout).toContain('+++'); // the diff was still shown
    expect(await tree(home)).toEqual(before);
  });

  it('with no client detected: exits 1 and says how to name one', async () => {
    const home = await makeHome();
    const result = await sphyr(home, ['guard', 'init', '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/No supported IDE or agent found/);
    expect(result.stderr).toContain('--client');
    expect(await tree(home)).toEqual({});
  });
});

describe('guard init --yes, again, status, remove', () => {
  it('writes every detected client, is idempotent, reports up to date, and remove restores the originals byte for byte', async () => {
    const originals = {
      '.cursor/mcp.json':
        '{\n  "mcpServers": {\n    "other": { "command": "uvx", "args": ["other-mcp"] }\n  }\n}\n',
      '.config/zed/settings.json':
        '// Zed settings\n{\n  "theme": "One Dark",\n  "context_servers": {\n    "x": { "command": "x", "args": [], },\n  },\n}\n',
      '.codex/config.toml':
        '# my codex config\nmodel = "o3"\n\n[mcp_servers.docs]\ncommand = "docs-mcp"\nargs = ["--port", "1"]\n',
      '.claude.json': '{\n  "numStartups": 3,\n  "projects": {}\n}\n',
    };
    const home = await makeHome({
      ...originals,
      '.claude': null,
      '.config/Code/User': null,
      '.codeium/windsurf': null,
      '.gemini/antigravity': null,
    });
    const p = (rel: string) => path.join(home, rel);
    const before = await tree(home);

    // 1. init --yes
    const init = await sphyr(home, ['guard', 'init', '--yes']);
    expect(init.stderr).not.toMatch(/✗/);
    expect(init.code).toBe(0);
    for (const name of ['Claude Code', 'Cursor', 'VS Code', 'Zed', 'Windsurf', 'Codex', 'Antigravity']) {
      expect(init.stderr).toContain(`✓ ${name}: wrote`);
    }

    const cursor = await json(p('.cursor/mcp.json'));
    expect(cursor.mcpServers.sphyr).toEqual(NODE_ENTRY);
    expect(cursor.mcpServers.other).toEqual({ command: 'uvx', args: ['other-mcp'] });

    const claude = await json(p('.claude.json'));
    expect(claude.mcpServers.sphyr).toEqual({ type: 'stdio', ...NODE_ENTRY, env: {} });
    expect(claude.numStartups).toBe(3);

    expect((await json(p('.config/Code/User/mcp.json'))).servers.sphyr).toEqual({
      type: 'stdio',
      ...NODE_ENTRY,
    });
    expect((await json(p('.codeium/windsurf/mcp_config.json'))).mcpServers.sphyr).toEqual(NODE_ENTRY);
    const antigravity = (await json(p('.gemini/antigravity/mcp_config.json'))).mcpServers.sphyr;
    expect(antigravity).toEqual(NODE_ENTRY);
    expect(antigravity).not.toHaveProperty('type');

    const zedText = await readFile(p('.config/zed/settings.json'), 'utf8');
    expect(zedText.startsWith('// Zed settings\n')).toBe(true);
    const zed = parseJsonc(zedText, [], { allowTrailingComma: true });
    expect(zed.context_servers.sphyr).toEqual(NODE_ENTRY);
    expect(zed.context_servers.x).toEqual({ command: 'x', args: [] });
    expect(zed.theme).toBe('One Dark');

    const codexText = await readFile(p('.codex/config.toml'), 'utf8');
    expect(codexText.startsWith('# my codex config\n')).toBe(true);
    const codex = parseToml(codexText) as Doc;
    // Nothing exported: no env_vars (codex doctor would warn about each unset one).
    expect(codex.mcp_servers.sphyr).toEqual(NODE_ENTRY);
    expect(codex.mcp_servers.docs).toEqual({ command: 'docs-mcp', args: ['--port', '1'] });
    expect(codex.model).toBe('o3');

    // Existing files were backed up first; new files have no backup.
    for (const [rel, content] of Object.entries(originals)) {
      const backups = (await readdir(path.dirname(p(rel)))).filter((n) =>
        n.startsWith(`${path.basename(rel)}.sphyr-backup-`),
      );
      expect(backups, rel).toHaveLength(1);
      expect(await readFile(path.join(path.dirname(p(rel)), backups[0] as string), 'utf8')).toBe(content);
    }
    expect(await litter(p('.codeium/windsurf'))).toEqual([]);

    // The state file holds undo data: owner-only.
    const statePath = p('.sphyr/guard-state.json');
    expect(await mode(statePath)).toBe(0o600);
    const state = await json(statePath);
    expect(state.version).toBe(1);
    expect(state.entries).toHaveLength(7);

    // 2. a second init changes nothing.
    const afterInit = await tree(home);
    const again = await sphyr(home, ['guard', 'init', '--yes']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('');
    expect(again.stderr.match(/already has sphyr/g)).toHaveLength(7);
    expect(again.stderr).not.toMatch(/wrote/);
    expect(await tree(home)).toEqual(afterInit);

    // 3. status --json: detected, configured, up to date.
    const status = await sphyr(home, ['guard', 'status', '--json']);
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout) as Array<{
      client: string;
      detected: boolean;
      files: Array<{ file: string; configured: boolean; upToDate: boolean; problem?: string }>;
    }>;
    expect(rows.map((r) => r.client)).toEqual(CLIENTS.map((c) => c.id));
    const configured = rows.filter((r) => r.files.some((f) => f.configured));
    expect(configured.map((r) => r.client).sort()).toEqual(
      ['antigravity', 'claude-code', 'codex', 'cursor', 'vscode', 'windsurf', 'zed'].sort(),
    );
    for (const row of configured) {
      expect(row.detected, row.client).toBe(true);
      for (const f of row.files) expect(f, row.client).toMatchObject({ configured: true, upToDate: true });
    }
    expect(rows.find((r) => r.client === 'cursor')?.files).toEqual([
      { file: p('.cursor/mcp.json'), label: 'user', configured: true, upToDate: true },
    ]);
    expect(rows.find((r) => r.client === 'claude-desktop')).toMatchObject({ detected: false, files: [] });

    // 4. remove: originals back byte for byte, files init created are gone.
    const remove = await sphyr(home, ['guard', 'remove']);
    expect(remove.code).toBe(0);
    expect(remove.stderr).not.toMatch(/✗/);
    for (const [rel, content] of Object.entries(originals)) {
      expect(await readFile(p(rel), 'utf8'), rel).toBe(content);
    }
    const skipOurs = (rel: string) => rel === '.sphyr' || rel.includes('.sphyr-backup-');
    expect(await tree(home, skipOurs)).toEqual(before);
    expect((await json(statePath)).entries).toEqual([]);

    const statusAfter = JSON.parse((await sphyr(home, ['guard', 'status', '--json'])).stdout) as typeof rows;
    for (const row of statusAfter) for (const f of row.files) expect(f.configured, row.client).toBe(false);

    const removeAgain = await sphyr(home, ['guard', 'remove']);
    expect(removeAgain.code).toBe(0);
    expect(removeAgain.stderr).toMatch(/Nothing to remove/);
  });
});

describe('bad input: reported by file, the file left byte for byte alone, the other clients still written', () => {
  const CASES: Array<{
    name: string;
    layout: Record<string, string | null>;
    file: string;
    client: string;
    problem: RegExp;
  }> = [
    {
      name: 'invalid JSON in ~/.cursor/mcp.json',
      layout: { '.cursor/mcp.json': '{\n  "mcpServers": {\n    "a": { "command": "x" },\n' },
      file: '.cursor/mcp.json',
      client: 'Cursor',
      problem: /expected .* at line \d+, column \d+/,
    },
    {
      name: 'comments in the strict-JSON ~/.claude.json',
      layout: { '.claude': null, '.claude.json': '{\n  // my note\n  "numStartups": 1\n}\n' },
      file: '.claude.json',
      client: 'Claude Code',
      problem: /comments are not allowed.*strict JSON at line 2, column 3/,
    },
    {
      name: 'a TOML syntax error in ~/.codex/config.toml',
      layout: { '.codex/config.toml': '# codex\n[mcp_servers.docs\ncommand = "docs-mcp"\n' },
      file: '.codex/config.toml',
      client: 'Codex',
      problem: /Invalid TOML at line 2/,
    },
  ];

  it.each(CASES)('$name', async ({ layout, file, client, problem }) => {
    const home = await makeHome({ ...layout, '.codeium/windsurf': null });
    const target = path.join(home, file);
    const original = await readFile(target, 'utf8');
    const originalMode = await mode(target);

    const result = await sphyr(home, ['guard', 'init', '--yes']);
    expect(result.code).toBe(1);
    const line = result.stderr.split('\n').find((l) => l.startsWith(`✗ ${client}:`)) ?? '';
    expect(line).toContain(target);
    expect(line).toMatch(problem);
    expect(line).toContain('left untouched');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace

    expect(await readFile(target, 'utf8')).toBe(original);
    expect(await mode(target)).toBe(originalMode);
    expect(await litter(path.dirname(target))).toEqual([]);

    // One bad file does not stop the others.
    expect(result.stderr).toContain('✓ Windsurf: wrote');
    expect((await json(path.join(home, '.codeium/windsurf/mcp_config.json'))).mcpServers.sphyr).toEqual(
      NODE_ENTRY,
    );
    const state = await json(path.join(home, '.sphyr/guard-state.json'));
    expect(state.entries.map((e: { client: string }) => e.client)).toEqual(['windsurf']);

    // status names the problem too; remove leaves the bad file alone and still exits 1.
    const rows = JSON.parse((await sphyr(home, ['guard', 'status', '--json'])).stdout) as Array<{
      displayName: string;
      files: Array<{ file: string; problem?: string }>;
    }>;
    const row = rows.find((r) => r.displayName === client);
    expect(row?.files.find((f) => f.file === target)?.problem).toMatch(problem);
    const remove = await sphyr(home, ['guard', 'remove']);
    expect(remove.code).toBe(1);
    expect(remove.stderr).toContain(target);
    expect(await readFile(target, 'utf8')).toBe(original);
    expect(await litter(path.dirname(target))).toEqual([]);
  });

  it('a directory where ~/.cursor/mcp.json should be', async () => {
    const home = await makeHome({ '.cursor/mcp.json': null, '.codeium/windsurf': null });
    const target = path.join(home, '.cursor', 'mcp.json');
    const result = await sphyr(home, ['guard', 'init', '--yes']);
    expect(result.code).toBe(1);
    const line = result.stderr.split('\n').find((l) => l.startsWith('✗ Cursor:')) ?? '';
    expect(line).toContain(target);
    expect(line).toMatch(/is a directory, not a config file/);
    expect((await stat(target)).isDirectory()).toBe(true);
    expect(await readdir(target)).toEqual([]);
    expect(await readdir(path.join(home, '.cursor'))).toEqual(['mcp.json']);
    expect(result.stderr).toContain('✓ Windsurf: wrote');
  });

  it('a read-only ~/.codeium/windsurf/mcp_config.json (0444) is refused', async () => {
    const original = '{\n  "mcpServers": {}\n}\n';
    const home = await makeHome({
      '.codeium/windsurf/mcp_config.json': original,
      '.cursor': null,
    });
    const target = path.join(home, '.codeium', 'windsurf', 'mcp_config.json');
    await chmod(target, 0o444);
    // Run as whoever runs the tests: the engine honours the missing write bit even for root, so this
    // needs no other user (who might not be able to read a checkout in a private temp folder).
    const result = await sphyr(home, ['guard', 'init', '--yes']);
    expect(result.code).toBe(1);
    const line = result.stderr.split('\n').find((l) => l.startsWith('✗ Windsurf:')) ?? '';
    expect(line).toContain(target);
    expect(line).toMatch(/read-only/);
    expect(await readFile(target, 'utf8')).toBe(original);
    expect(await mode(target)).toBe(0o444);
    expect(await litter(path.dirname(target))).toEqual([]);
    // Cursor is still written.
    expect(result.stderr).toContain('✓ Cursor: wrote');
    expect((await json(path.join(home, '.cursor/mcp.json'))).mcpServers.sphyr).toEqual(NODE_ENTRY);
  });

  it.runIf(IS_ROOT)('even as root, a 0444 file is refused: its mode means "do not touch"', async () => {
    const original = '{\n  "mcpServers": {}\n}\n';
    const home = await makeHome({ '.codeium/windsurf/mcp_config.json': original });
    const target = path.join(home, '.codeium', 'windsurf', 'mcp_config.json');
    await chmod(target, 0o444);
    const result = await sphyr(home, ['guard', 'init', '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/read-only/);
    expect(await readFile(target, 'utf8')).toBe(original);
    expect(await mode(target)).toBe(0o444);
    expect(await litter(path.dirname(target))).toEqual([]);
  });
});

describe('a symlinked config stays a symlink, even a dangling one', () => {
  const notOurs = (rel: string) => rel === '.sphyr';

  it('~/.cursor/mcp.json → ../dotfiles/cursor-mcp.json (missing): init writes through, status and doctor read through, remove gives the dangling link back', async () => {
    const home = await makeHome({ '.cursor': null, dotfiles: null, '.sphyr/config.json': loggedIn() });
    const link = path.join(home, '.cursor', 'mcp.json');
    const target = path.join(home, 'dotfiles', 'cursor-mcp.json');
    await symlink('../dotfiles/cursor-mcp.json', link);
    const before = await tree(home, notOurs);

    const init = await sphyr(home, ['guard', 'init', '--yes']);
    expect(init.stderr).not.toMatch(/✗/);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('(new file)');
    expect(init.stderr).toContain(`✓ Cursor: wrote ${link}`);
    expect(init.stderr).toContain(target);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe('../dotfiles/cursor-mcp.json');
    expect((await json(target)).mcpServers.sphyr).toEqual(NODE_ENTRY);
    expect(await readdir(path.join(home, '.cursor'))).toEqual(['mcp.json']);

    const status = await sphyr(home, ['guard', 'status', '--json', '--client', 'cursor']);
    expect(JSON.parse(status.stdout)[0].files).toEqual([
      { file: link, label: 'user', configured: true, upToDate: true },
    ]);
    const doctor = await sphyr(home, ['guard', 'doctor', '--client', 'cursor']);
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toMatch(/✓ Cursor: .*answered.*the gateway answered check_url/);

    const remove = await sphyr(home, ['guard', 'remove']);
    expect(remove.stderr).not.toMatch(/✗/);
    expect(remove.code).toBe(0);
    expect(await tree(home, notOurs)).toEqual(before);
    expect(await readlink(link)).toBe('../dotfiles/cursor-mcp.json');
  });

  it('a link into a folder that does not exist: a clear refusal, nothing written, the link untouched', async () => {
    const home = await makeHome({ '.cursor': null });
    const link = path.join(home, '.cursor', 'mcp.json');
    await symlink(path.join(home, 'dotfiles', 'cursor-mcp.json'), link); // absolute this time
    const before = await tree(home);

    const result = await sphyr(home, ['guard', 'init', '--yes']);
    expect(result.code).toBe(1);
    const line = result.stderr.split('\n').find((l) => l.startsWith('✗ Cursor:')) ?? '';
    expect(line).toContain(link);
    expect(line).toContain(path.join(home, 'dotfiles'));
    expect(line).toMatch(/does not exist/);
    expect(line).toContain('left untouched');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await tree(home, notOurs)).toEqual(before);
  });

  it('a link loop: init, status and remove refuse it by name, nothing is written', async () => {
    const home = await makeHome({ '.cursor': null, dotfiles: null });
    const link = path.join(home, '.cursor', 'mcp.json');
    await symlink('../dotfiles/a.json', link);
    await symlink('b.json', path.join(home, 'dotfiles', 'a.json'));
    await symlink('a.json', path.join(home, 'dotfiles', 'b.json'));
    const before = await tree(home);

    const init = await sphyr(home, ['guard', 'init', '--yes']);
    expect(init.code).toBe(1);
    const line = init.stderr.split('\n').find((l) => l.startsWith('✗ Cursor:')) ?? '';
    expect(line).toContain(link);
    expect(line).toMatch(/symbolic link loop/);
    const status = await sphyr(home, ['guard', 'status', '--client', 'cursor']);
    expect(status.stdout).toMatch(/unreadable: .*symbolic link loop/);
    const remove = await sphyr(home, ['guard', 'remove', '--client', 'cursor']);
    expect(remove.code).toBe(1);
    expect(remove.stderr).toMatch(/symbolic link loop/);
    expect(await tree(home, notOurs)).toEqual(before);
  });
});

describe('guard init options', () => {
  it('--embed-credential writes SPHYR_CREDENTIAL into a 0600 file and never prints the secret', async () => {
    const secret = randomBytes(32).toString('base64url');
    const credential = `sphyr.k_guard1.${secret}`;
    const home = await makeHome({ '.cursor/mcp.json': '{\n  "mcpServers": {}\n}\n' });
    const target = path.join(home, '.cursor', 'mcp.json');
    await chmod(target, 0o644);
    const result = await sphyr(home, ['guard', 'init', '--yes', '--embed-credential'], {
      SPHYR_CREDENTIAL: credential,
      SPHYR_GATEWAY_URL: 'http://127.0.0.1:9',
    });
    expect(result.code).toBe(0);
    expect(await mode(target)).toBe(0o600);
    expect((await json(target)).mcpServers.sphyr).toEqual({
      ...NODE_ENTRY,
      env: { SPHYR_CREDENTIAL: credential, SPHYR_GATEWAY_URL: 'http://127.0.0.1:9' },
    });
    expect(result.stdout).toContain('"SPHYR_CREDENTIAL": "sphyr.k_guard1.***"');
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
    // status and a second init do not print it either.
    const status = await sphyr(home, ['guard', 'status', '--json'], { SPHYR_CREDENTIAL: credential });
    expect(status.stdout + status.stderr).not.toContain(secret);
    expect(
      JSON.parse(status.stdout).find((r: { client: string }) => r.client === 'cursor').files[0],
    ).toMatchObject({
      configured: true,
      upToDate: true,
    });
    // remove shows the entry going away, redacted, and the file stays owner-only.
    const remove = await sphyr(home, ['guard', 'remove']);
    expect(remove.code).toBe(0);
    expect(remove.stdout).toContain('sphyr.k_guard1.***');
    expect(remove.stdout + remove.stderr).not.toContain(secret);
    expect(await json(target)).toEqual({ mcpServers: {} });
    expect(await mode(target)).toBe(0o600);
  });

  it('--embed-credential without a credential is a clear error and writes nothing', async () => {
    const home = await makeHome({ '.cursor': null });
    const before = await tree(home);
    const result = await sphyr(home, ['guard', 'init', '--yes', '--embed-credential']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--embed-credential needs a credential/);
    expect(result.stderr).toMatch(/sphyr login|SPHYR_CREDENTIAL/);
    expect(result.stdout).toBe('');
    expect(await tree(home)).toEqual(before);
  });

  it('--npx writes `npx -y -p @sphyr/sdk sphyr-mcp`, and status counts it as up to date', async () => {
    const home = await makeHome({ '.cursor': null });
    const result = await sphyr(home, ['guard', 'init', '--yes', '--npx']);
    expect(result.code).toBe(0);
    expect((await json(path.join(home, '.cursor/mcp.json'))).mcpServers.sphyr).toEqual({
      command: 'npx',
      args: NPX_ARGS,
    });
    const rows = JSON.parse((await sphyr(home, ['guard', 'status', '--json', '--client', 'cursor'])).stdout);
    expect(rows).toEqual([
      {
        client: 'cursor',
        displayName: 'Cursor',
        detected: true,
        files: [
          { file: path.join(home, '.cursor/mcp.json'), label: 'user', configured: true, upToDate: true },
        ],
      },
    ]);
  });

  it('--project <dir> --client vscode writes <dir>/.vscode/mcp.json and leaves the home alone', async () => {
    const home = await makeHome({ '.config/Code/User': null });
    const project = await makeHome();
    const homeBefore = await tree(home);
    const result = await sphyr(home, ['guard', 'init', '--project', project, '--client', 'vscode', '--yes']);
    expect(result.code).toBe(0);
    const file = path.join(project, '.vscode', 'mcp.json');
    expect(result.stderr).toContain(`✓ VS Code: wrote ${file}`);
    // A shared file: the npx form, no path of this machine.
    expect(await json(file)).toEqual({
      servers: { sphyr: { type: 'stdio', command: 'npx', args: NPX_ARGS } },
    });
    expect(Object.keys(await tree(project))).toEqual(['.vscode', path.join('.vscode', 'mcp.json')]);
    expect(await tree(home, (rel) => rel === '.sphyr')).toEqual(homeBefore);

    const remove = await sphyr(home, ['guard', 'remove', '--project', project, '--client', 'vscode']);
    expect(remove.code).toBe(0);
    expect(await readdir(path.join(project, '.vscode'))).toEqual([]);
  });

  it('an unknown --client is refused with the list of known ids', async () => {
    const home = await makeHome({ '.cursor': null });
    const result = await sphyr(home, ['guard', 'init', '--yes', '--client', 'notepad']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('"notepad"');
    for (const c of CLIENTS) expect(result.stderr).toContain(c.id);
    expect(await tree(home)).toEqual({ '.cursor': 'dir' });
  });
});

describe('guard print', () => {
  it('claude-desktop for win32: cmd /c npx and a placeholder credential, both Windows paths named', async () => {
    const home = await makeHome();
    const result = await sphyr(home, ['guard', 'print', '--client', 'claude-desktop', '--platform', 'win32']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      mcpServers: {
        sphyr: {
          command: 'cmd',
          args: ['/c', 'npx', ...NPX_ARGS],
          env: { SPHYR_CREDENTIAL: 'your-credential' },
        },
      },
    });
    expect(result.stderr).toContain(
      '%LOCALAPPDATA%\\Packages\\Claude_*\\LocalCache\\Roaming\\Claude\\claude_desktop_config.json (MSIX)',
    );
    expect(result.stderr).toContain('%APPDATA%\\Claude\\claude_desktop_config.json (user)');
    expect(await tree(home)).toEqual({});
  });

  it('codex: a TOML [mcp_servers.sphyr] table', async () => {
    const home = await makeHome();
    const result = await sphyr(home, ['guard', 'print', '--client', 'codex', '--platform', 'linux']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\[mcp_servers\.sphyr\]$/m);
    expect(parseToml(result.stdout)).toEqual({
      mcp_servers: {
        sphyr: {
          command: 'npx',
          args: NPX_ARGS,
          env: { SPHYR_CREDENTIAL: 'your-credential' },
        },
      },
    });
    expect(result.stderr).toContain('~/.codex/config.toml');
  });

  it('an unknown client exits non-zero and lists the known ids', async () => {
    const home = await makeHome();
    const result = await sphyr(home, ['guard', 'print', '--client', 'notepad']);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/unknown client "notepad"; known: /);
    for (const c of CLIENTS) expect(result.stderr).toContain(c.id);
  });
});

describe('guard doctor', () => {
  it('passes against the real sphyr-mcp after init, and fails with "not found" for a missing command', async () => {
    const home = await makeHome({ '.cursor': null, '.sphyr/config.json': loggedIn() });
    const init = await sphyr(home, ['guard', 'init', '--yes', '--client', 'cursor']);
    expect(init.code).toBe(0);

    const ok = await sphyr(home, ['guard', 'doctor']);
    expect(ok.stderr).not.toMatch(/✗/);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/✓ Cursor: .*answered \(tools: .*\bfetch\b.*the gateway answered check_url/);
    expect(ok.stdout).toContain(path.join(home, '.cursor', 'mcp.json'));

    const file = path.join(home, '.cursor', 'mcp.json');
    const doc = await json(file);
    doc.mcpServers.sphyr.command = '/no/such/node';
    await writeFile(file, JSON.stringify(doc, null, 2));

    const bad = await sphyr(home, ['guard', 'doctor']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/✗ Cursor: .*not found: \/no\/such\/node/);
  });

  it('with nothing configured: says to run guard init', async () => {
    const home = await makeHome({ '.cursor': null });
    const result = await sphyr(home, ['guard', 'doctor']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/sphyr guard init/);
  });
});
