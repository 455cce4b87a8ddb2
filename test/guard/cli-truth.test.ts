/**
 * `sphyr guard …` says what is true (issue 13, items 9–12 and 17): the CLI run in-process
 * (`main(argv, io)`) on a temp HOME, so every case is fast and needs no build.
 */

import { chmod, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIENTS } from '../../clients/index.js';
import { cleanHomes, makeHome, sphyr } from '../helpers/guard-cli.js';

afterAll(cleanHomes);

/** A parsed config document, indexed freely in assertions. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary config documents
type Doc = Record<string, any>;

async function backupsOf(file: string): Promise<string[]> {
  const base = path.basename(file);
  return (await readdir(path.dirname(file))).filter((n) => n.startsWith(`${base}.sphyr-backup-`)).sort();
}

const CURSOR = '{\n  "mcpServers": {\n    "other": { "command": "uvx", "args": ["other-mcp"] }\n  }\n}\n';

describe('item 10: every guard command that writes accepts --yes (and -y)', () => {
  it('guard remove --yes undoes init, as guard remove does', async () => {
    const home = await makeHome({ '.cursor/mcp.json': CURSOR });
    expect((await sphyr(home, ['guard', 'init', '--yes'])).code).toBe(0);
    const remove = await sphyr(home, ['guard', 'remove', '--yes']);
    expect(remove.stderr).not.toMatch(/unknown option/);
    expect(remove.code).toBe(0);
    expect(await readFile(path.join(home, '.cursor/mcp.json'), 'utf8')).toBe(CURSOR);
  });

  it('guard remove -y --client cursor, the short form', async () => {
    const home = await makeHome({ '.cursor/mcp.json': CURSOR });
    expect((await sphyr(home, ['guard', 'init', '--yes'])).code).toBe(0);
    const remove = await sphyr(home, ['guard', 'remove', '-y', '--client', 'cursor']);
    expect(remove.code).toBe(0);
    expect(await readFile(path.join(home, '.cursor/mcp.json'), 'utf8')).toBe(CURSOR);
  });

  it('guard init -y writes without asking', async () => {
    const home = await makeHome({ '.cursor/mcp.json': CURSOR });
    const init = await sphyr(home, ['guard', 'init', '-y']);
    expect(init.code).toBe(0);
    expect(JSON.parse(await readFile(path.join(home, '.cursor/mcp.json'), 'utf8')).mcpServers).toHaveProperty(
      'sphyr',
    );
  });
});

describe('item 11: backups are bounded per file, named, and owner-only', () => {
  it('five init/remove rounds leave at most 3 backups of ~/.cursor/mcp.json, each named in the output', async () => {
    const home = await makeHome({ '.cursor/mcp.json': CURSOR });
    const file = path.join(home, '.cursor/mcp.json');
    const named: string[] = [];
    for (let round = 0; round < 5; round += 1) {
      for (const command of ['init', 'remove']) {
        const run = await sphyr(home, ['guard', command, '--yes']);
        expect(run.code, `${command} ${round}`).toBe(0);
        const backup = run.stderr.match(/\(backup: ([^;)\s]+)/)?.[1];
        expect(backup, `${command} ${round} names its backup`).toBeDefined();
        named.push(backup as string);
      }
    }
    const left = await backupsOf(file);
    expect(left).toHaveLength(3);
    // The newest three are the ones kept.
    expect(left.map((n) => path.join(path.dirname(file), n)).sort()).toEqual(named.slice(-3).sort());
    expect(await readFile(file, 'utf8')).toBe(CURSOR);
  });

  it('a backup of a file that holds a credential is 0600 even when the file was 0644', async () => {
    const credential = `sphyr.k_back1.${'s'.repeat(43)}`;
    const home = await makeHome({
      '.cursor/mcp.json': `{\n  "mcpServers": {\n    "mine": { "command": "x", "env": { "SPHYR_CREDENTIAL": "${credential}" } }\n  }\n}\n`,
    });
    const file = path.join(home, '.cursor/mcp.json');
    await chmod(file, 0o644);
    expect((await sphyr(home, ['guard', 'init', '--yes'])).code).toBe(0);
    const [backup] = await backupsOf(file);
    expect(backup).toBeDefined();
    expect((await stat(path.join(path.dirname(file), backup as string))).mode & 0o777).toBe(0o600);
  });

  it("every backup is 0600: init's of a 0644 file, and remove's of the file --embed-credential wrote", async () => {
    const credential = `sphyr.k_back2.${'t'.repeat(43)}`;
    const home = await makeHome({ '.cursor/mcp.json': CURSOR });
    const file = path.join(home, '.cursor/mcp.json');
    await chmod(file, 0o644);
    const init = await sphyr(home, ['guard', 'init', '--yes', '--embed-credential'], {
      SPHYR_CREDENTIAL: credential,
      SPHYR_GATEWAY_URL: 'http://127.0.0.1:9',
    });
    expect(init.code).toBe(0);
    const remove = await sphyr(home, ['guard', 'remove', '--yes']);
    expect(remove.code).toBe(0);
    const backups = await backupsOf(file);
    expect(backups).toHaveLength(2);
    for (const b of backups) {
      expect((await stat(path.join(path.dirname(file), b))).mode & 0o777, b).toBe(0o600);
    }
  });
});

describe('item 12: guard status words an undetected client one way', () => {
  it('Gemini CLI is not detected when only Antigravity made ~/.gemini: one wording, no file row', async () => {
    const home = await makeHome({ '.gemini/antigravity': null, '.cursor': null });
    const text = await sphyr(home, ['guard', 'status']);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    for (const c of CLIENTS) {
      const mine = lines.filter((l) => l.slice(0, 20).trimEnd() === c.displayName);
      expect(mine.length, c.id).toBeGreaterThan(0);
    }
    const gemini = lines.filter((l) => l.startsWith('Gemini CLI '));
    expect(gemini).toEqual([expect.stringMatching(/^Gemini CLI\s+not detected$/)]);
    const rows = JSON.parse((await sphyr(home, ['guard', 'status', '--json'])).stdout) as Array<{
      client: string;
      displayName: string;
      detected: boolean;
      files: unknown[];
    }>;
    expect(rows.find((r) => r.client === 'gemini-cli')).toMatchObject({ detected: false, files: [] });
    // Every undetected client reads exactly the same way, in both outputs.
    for (const r of rows.filter((x) => !x.detected)) {
      expect(r.files, r.client).toEqual([]);
      expect(lines.filter((l) => l.slice(0, 20).trimEnd() === r.displayName)).toEqual([
        expect.stringMatching(/^\S.*\s+not detected$/),
      ]);
    }
  });

  it('Claude Code is not detected on a home without ~/.claude or ~/.claude.json, though the home folder exists', async () => {
    const home = await makeHome({ '.cursor': null });
    const text = await sphyr(home, ['guard', 'status', '--client', 'claude-code']);
    expect(text.stdout.split('\n')).toEqual([expect.stringMatching(/^Claude Code\s+not detected$/)]);
    const rows = JSON.parse((await sphyr(home, ['guard', 'status', '--json'])).stdout) as Array<{
      client: string;
      detected: boolean;
      files: unknown[];
    }>;
    expect(rows.find((r) => r.client === 'claude-code')).toMatchObject({ detected: false, files: [] });
  });

  it('a client named with --client but not detected reads the same way', async () => {
    const home = await makeHome({ '.gemini/antigravity': null });
    const text = await sphyr(home, ['guard', 'status', '--client', 'gemini-cli', '--client', 'lm-studio']);
    expect(text.stdout.split('\n')).toEqual([
      expect.stringMatching(/^Gemini CLI\s+not detected$/),
      expect.stringMatching(/^LM Studio\s+not detected$/),
    ]);
  });

  it('the README lists every client guard supports, by name, in its table', async () => {
    const readme = await readFile(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## sphyr guard'), readme.indexOf('## CLI reference'));
    const rows = section.split('\n').filter((l) => l.startsWith('| '));
    for (const c of CLIENTS) {
      expect(
        rows.some((r) => r.startsWith(`| ${c.displayName} |`)),
        `${c.displayName} has a row`,
      ).toBe(true);
    }
  });
});

const CREDENTIAL = `sphyr.k_truth1.${'c'.repeat(43)}`;
/** ~/.sphyr/config.json as `sphyr login` writes it. */
const LOGGED_IN = `{\n  "gateway": "http://127.0.0.1:9",\n  "credential": "${CREDENTIAL}"\n}\n`;
const NO_CREDENTIAL = /every sphyr tool call will answer "not configured" until you run `sphyr login`/;

describe('item 9: init with no credential anywhere writes the entries and says so', () => {
  it('no ~/.sphyr/config.json, no SPHYR_CREDENTIAL: written, and a warning line naming sphyr login', async () => {
    const home = await makeHome({ '.cursor/mcp.json': CURSOR });
    const init = await sphyr(home, ['guard', 'init', '--yes']);
    expect(init.code).toBe(0);
    expect(init.stderr).toContain('✓ Cursor: wrote');
    expect(init.stderr).toMatch(NO_CREDENTIAL);
    expect(init.stderr.split('\n').find((l) => NO_CREDENTIAL.test(l))).toMatch(/^warning: /);
  });

  it('a dry run says it too, before anything is written', async () => {
    const home = await makeHome({ '.cursor/mcp.json': CURSOR });
    const dry = await sphyr(home, ['guard', 'init', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toMatch(NO_CREDENTIAL);
    expect(await readFile(path.join(home, '.cursor/mcp.json'), 'utf8')).toBe(CURSOR);
  });

  it('an unreadable ~/.sphyr/config.json is named, and the entries are still written', async () => {
    const home = await makeHome({ '.cursor/mcp.json': CURSOR, '.sphyr/config.json': '{ not json' });
    const init = await sphyr(home, ['guard', 'init', '--yes']);
    expect(init.code).toBe(0);
    expect(init.stderr).toContain('✓ Cursor: wrote');
    expect(init.stderr).toMatch(/^warning: .*config\.json.*not valid JSON/m);
    expect(init.stderr).toMatch(NO_CREDENTIAL);
  });

  it('logged in (~/.sphyr/config.json): no warning', async () => {
    const home = await makeHome({ '.cursor/mcp.json': CURSOR, '.sphyr/config.json': LOGGED_IN });
    const init = await sphyr(home, ['guard', 'init', '--yes']);
    expect(init.code).toBe(0);
    expect(init.stderr).not.toMatch(/warning/);
  });
});

describe('item 14: init says when a client would not pass a shell-exported credential on', () => {
  const EXPORTED = { SPHYR_CREDENTIAL: CREDENTIAL, SPHYR_GATEWAY_URL: 'http://127.0.0.1:9' };
  const layout = {
    '.gemini/settings.json': '{}\n',
    '.claude.json': '{}\n',
    '.cursor/mcp.json': CURSOR,
    '.config/opencode/opencode.json': '{}\n',
  };

  it('Gemini CLI drops SPHYR_CREDENTIAL: a warning naming the client and both fixes', async () => {
    const home = await makeHome(layout);
    const init = await sphyr(home, ['guard', 'init', '--yes', '--client', 'gemini-cli'], EXPORTED);
    expect(init.code).toBe(0);
    const line = init.stderr.split('\n').find((l) => l.startsWith('warning: Gemini CLI')) ?? '';
    expect(line).toMatch(/SPHYR_CREDENTIAL/);
    expect(line).toMatch(/sphyr login/);
    expect(line).toMatch(/--embed-credential/);
    expect(init.stderr).not.toMatch(NO_CREDENTIAL);
  });

  it('Cursor (the MCP SDK allowlist) gets the same warning; Claude Code and opencode, which pass everything, none', async () => {
    const home = await makeHome(layout);
    const init = await sphyr(home, ['guard', 'init', '--yes'], EXPORTED);
    expect(init.code).toBe(0);
    expect(init.stderr).toMatch(/^warning: Cursor .*SPHYR_CREDENTIAL/m);
    expect(init.stderr).not.toMatch(/^warning: Claude Code/m);
    expect(init.stderr).not.toMatch(/^warning: opencode/m);
  });

  it('--embed-credential or a login file: no warning for any client', async () => {
    const embedded = await makeHome(layout);
    const a = await sphyr(embedded, ['guard', 'init', '--yes', '--embed-credential'], EXPORTED);
    expect(a.code).toBe(0);
    expect(a.stderr).not.toMatch(/^warning/m);
    const logged = await makeHome({ ...layout, '.sphyr/config.json': LOGGED_IN });
    const b = await sphyr(logged, ['guard', 'init', '--yes'], EXPORTED);
    expect(b.stderr).not.toMatch(/^warning/m);
  });
});

describe('item 15: Codex gets env_vars only when there is something to pass, and wrapped servers get them too', () => {
  const CODEX = '# mine\nmodel = "o3"\n\n[mcp_servers.docs]\ncommand = "docs-mcp"\nargs = ["--port", "1"]\n';

  it('logged in (~/.sphyr/config.json, nothing exported): no env_vars, so `codex doctor` has nothing to warn about', async () => {
    const home = await makeHome({ '.codex/config.toml': CODEX, '.sphyr/config.json': LOGGED_IN });
    expect((await sphyr(home, ['guard', 'init', '--yes'])).code).toBe(0);
    const text = await readFile(path.join(home, '.codex/config.toml'), 'utf8');
    expect(text).toMatch(/\[mcp_servers\.sphyr\]/);
    expect(text).not.toMatch(/env_vars/);
  });

  it('only SPHYR_CREDENTIAL exported: env_vars names just that one', async () => {
    const home = await makeHome({ '.codex/config.toml': CODEX, '.sphyr/config.json': LOGGED_IN });
    const init = await sphyr(home, ['guard', 'init', '--yes'], { SPHYR_CREDENTIAL: CREDENTIAL });
    expect(init.code).toBe(0);
    const doc = parseToml(await readFile(path.join(home, '.codex/config.toml'), 'utf8')) as Doc;
    expect(doc.mcp_servers.sphyr.env_vars).toEqual(['SPHYR_CREDENTIAL']);
  });

  it('--wrap-existing with an exported credential: every wrapped server gets the same env_vars, added to its own; remove restores the bytes', async () => {
    const codex = `${CODEX}\n[mcp_servers.gh]\ncommand = "gh-mcp"\nenv_vars = ["GH_TOKEN"]\n`;
    const home = await makeHome({ '.codex/config.toml': codex });
    const init = await sphyr(home, ['guard', 'init', '--yes', '--wrap-existing'], {
      SPHYR_CREDENTIAL: CREDENTIAL,
      SPHYR_GATEWAY_URL: 'http://127.0.0.1:9',
    });
    expect(init.code).toBe(0);
    const file = path.join(home, '.codex/config.toml');
    const doc = parseToml(await readFile(file, 'utf8')) as Doc;
    const both = ['SPHYR_CREDENTIAL', 'SPHYR_GATEWAY_URL'];
    expect(doc.mcp_servers.sphyr.env_vars).toEqual(both);
    expect(doc.mcp_servers.docs.args).toContain('docs-mcp');
    expect(doc.mcp_servers.docs.env_vars).toEqual(both);
    expect(doc.mcp_servers.gh.env_vars).toEqual(['GH_TOKEN', ...both]);
    expect((await sphyr(home, ['guard', 'remove', '--yes'])).code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(codex);
  });
});

describe("item 16: --wrap-existing wraps Claude Code's local-scope servers too (projects[<dir>].mcpServers)", () => {
  const CLAUDE = `${JSON.stringify(
    {
      numStartups: 4,
      mcpServers: { userwide: { type: 'stdio', command: 'uvx', args: ['user-mcp'], env: {} } },
      projects: {
        '/home/me/app': {
          allowedTools: [],
          mcpServers: {
            local1: { type: 'stdio', command: 'npx', args: ['-y', 'local-mcp'], env: { LOCAL_TOKEN: 't' } },
            remote: { type: 'http', url: 'https://mcp.example.com/mcp' },
          },
        },
        '/home/me/other': { mcpServers: { local2: { command: 'other-mcp', args: [] } } },
        '/home/me/empty': { allowedTools: [] },
      },
    },
    null,
    2,
  )}\n`;

  it('every stdio server of every project is wrapped, remote ones are not; remove restores the bytes', async () => {
    const home = await makeHome({ '.claude.json': CLAUDE, '.sphyr/config.json': LOGGED_IN });
    const init = await sphyr(home, ['guard', 'init', '--yes', '--wrap-existing', '--client', 'claude-code']);
    expect(init.code).toBe(0);
    expect(init.stderr).toMatch(/now running through sphyr-mcp: .*local1/);
    const file = path.join(home, '.claude.json');
    const doc = JSON.parse(await readFile(file, 'utf8'));
    const wrapped = (e: { command: string; args: string[] }) => e.args.includes('--');
    expect(wrapped(doc.mcpServers.userwide)).toBe(true);
    const local1 = doc.projects['/home/me/app'].mcpServers.local1;
    expect(wrapped(local1)).toBe(true);
    expect(local1.args.slice(local1.args.indexOf('--') + 1)).toEqual(['npx', '-y', 'local-mcp']);
    expect(local1.env).toEqual({ LOCAL_TOKEN: 't' });
    expect(wrapped(doc.projects['/home/me/other'].mcpServers.local2)).toBe(true);
    expect(doc.projects['/home/me/app'].mcpServers.remote).toEqual({
      type: 'http',
      url: 'https://mcp.example.com/mcp',
    });
    expect(doc.projects['/home/me/empty']).toEqual({ allowedTools: [] });
    // Our entry goes to the user scope only.
    expect(doc.projects['/home/me/app'].mcpServers).not.toHaveProperty('sphyr');
    // A second init changes nothing; remove gives the bytes back.
    expect((await sphyr(home, ['guard', 'init', '--yes', '--wrap-existing'])).stdout).toBe('');
    expect((await sphyr(home, ['guard', 'remove', '--yes'])).code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(CLAUDE);
  });

  it('a local server with the same name as a user-scope one is wrapped and restored on its own', async () => {
    const text = `${JSON.stringify({
      mcpServers: { same: { command: 'user-version', args: [] } },
      projects: { '/p': { mcpServers: { same: { command: 'project-version', args: ['x'] } } } },
    })}\n`;
    const home = await makeHome({ '.claude.json': text, '.sphyr/config.json': LOGGED_IN });
    expect((await sphyr(home, ['guard', 'init', '--yes', '--wrap-existing'])).code).toBe(0);
    const doc = JSON.parse(await readFile(path.join(home, '.claude.json'), 'utf8'));
    expect(doc.mcpServers.same.args.slice(-1)).toEqual(['user-version']);
    expect(doc.projects['/p'].mcpServers.same.args.slice(-2)).toEqual(['project-version', 'x']);
    expect((await sphyr(home, ['guard', 'remove', '--yes'])).code).toBe(0);
    expect(await readFile(path.join(home, '.claude.json'), 'utf8')).toBe(text);
  });
});

describe('item 17: shared project files stay portable, and a hand-written sphyr entry is kept', () => {
  /** Every string in a document. */
  function strings(value: unknown): string[] {
    if (typeof value === 'string') return [value];
    if (Array.isArray(value)) return value.flatMap(strings);
    if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
    return [];
  }

  it('--project --client claude-code: .mcp.json gets the npx form, no absolute path of this machine', async () => {
    const home = await makeHome({ '.claude': null });
    const project = await makeHome();
    const init = await sphyr(home, [
      'guard',
      'init',
      '--yes',
      '--project',
      project,
      '--client',
      'claude-code',
    ]);
    expect(init.code).toBe(0);
    const doc = JSON.parse(await readFile(path.join(project, '.mcp.json'), 'utf8'));
    expect(doc.mcpServers.sphyr).toMatchObject({
      command: 'npx',
      args: ['-y', '-p', '@sphyr/sdk', 'sphyr-mcp'],
    });
    for (const s of strings(doc)) expect(s.startsWith('/'), s).toBe(false);
  });

  it('the same for every client with a project file, --wrap-existing included', async () => {
    const home = await makeHome();
    const project = await makeHome({
      '.vscode/mcp.json':
        '{\n  "servers": {\n    "x": { "type": "stdio", "command": "uvx", "args": ["x"] }\n  }\n}\n',
    });
    const ids = [
      'claude-code',
      'cursor',
      'vscode',
      'zed',
      'codex',
      'antigravity',
      'gemini-cli',
      'junie',
      'opencode',
    ];
    const args = ['guard', 'init', '--yes', '--wrap-existing', '--project', project];
    const init = await sphyr(home, [...args, ...ids.flatMap((id) => ['--client', id])]);
    expect(init.code, init.stderr).toBe(0);
    const written = init.stderr.match(/wrote (\S+)/g)?.map((w) => w.slice(6)) ?? [];
    expect(written).toHaveLength(ids.length);
    for (const file of written) {
      const text = await readFile(file, 'utf8');
      expect(text, file).not.toContain(process.execPath);
      expect(text, file).not.toContain(home);
      expect(text, file).not.toContain(path.join('bin', 'sphyr-mcp.js'));
    }
  });

  it('--project with --embed-credential is refused: a secret never goes into a file meant to be checked in', async () => {
    const project = await makeHome();
    const home = await makeHome({ '.sphyr/config.json': LOGGED_IN });
    const init = await sphyr(home, [
      'guard',
      'init',
      '--yes',
      '--embed-credential',
      '--project',
      project,
      '--client',
      'cursor',
    ]);
    expect(init.code).not.toBe(0);
    expect(init.stderr).toMatch(/--embed-credential.*--project/);
    expect(await readdir(project)).toEqual([]);
  });

  it("the reload hint for Claude Code's .mcp.json mentions its approval prompt", async () => {
    const project = await makeHome();
    const home = await makeHome({ '.claude': null });
    const init = await sphyr(home, [
      'guard',
      'init',
      '--yes',
      '--project',
      project,
      '--client',
      'claude-code',
    ]);
    expect(init.stderr).toMatch(/to load it: .*approve/);
  });

  const HAND =
    '{\n  "mcpServers": {\n    "sphyr": { "command": "/opt/mine/sphyr-mcp", "env": { "SPHYR_AGENT_NAME": "laptop" } }\n  }\n}\n';

  it('a sphyr entry guard did not write is kept, and the warning says what --force would lose', async () => {
    const home = await makeHome({ '.cursor/mcp.json': HAND, '.sphyr/config.json': LOGGED_IN });
    const init = await sphyr(home, ['guard', 'init', '--yes']);
    expect(init.code).toBe(0);
    expect(await readFile(path.join(home, '.cursor/mcp.json'), 'utf8')).toBe(HAND);
    const line = init.stderr.split('\n').find((l) => l.startsWith('warning: Cursor')) ?? '';
    expect(line).toMatch(/did not write/);
    expect(line).toMatch(/--force/);
    expect(line).toContain('/opt/mine/sphyr-mcp');
    expect(line).toContain('SPHYR_AGENT_NAME');
  });

  it('--force replaces it; remove gives the hand-written entry back byte for byte', async () => {
    const home = await makeHome({ '.cursor/mcp.json': HAND, '.sphyr/config.json': LOGGED_IN });
    const file = path.join(home, '.cursor/mcp.json');
    const init = await sphyr(home, ['guard', 'init', '--yes', '--force']);
    expect(init.code).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8')).mcpServers.sphyr.command).toBe(process.execPath);
    expect(init.stderr).toMatch(/replaced a sphyr entry guard did not write/);
    expect((await sphyr(home, ['guard', 'remove', '--yes'])).code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(HAND);
  });

  it('our own entry, edited by hand since (an env added), counts as hand-written too', async () => {
    const home = await makeHome({ '.cursor/mcp.json': CURSOR, '.sphyr/config.json': LOGGED_IN });
    const file = path.join(home, '.cursor/mcp.json');
    expect((await sphyr(home, ['guard', 'init', '--yes'])).code).toBe(0);
    const doc = JSON.parse(await readFile(file, 'utf8'));
    doc.mcpServers.sphyr.env = { SPHYR_AGENT_NAME: 'mine' };
    doc.mcpServers.sphyr.command = '/old/node';
    const edited = `${JSON.stringify(doc, null, 2)}\n`;
    await writeFile(file, edited);
    const again = await sphyr(home, ['guard', 'init', '--yes']);
    expect(again.code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(edited);
    expect(again.stderr).toMatch(/^warning: Cursor: .*did not write/m);
  });

  it('remove, with no record of the file in guard-state.json, leaves a hand-written sphyr entry alone and says so', async () => {
    const home = await makeHome({ '.cursor/mcp.json': HAND });
    const remove = await sphyr(home, ['guard', 'remove', '--yes']);
    expect(remove.code).toBe(0);
    expect(await readFile(path.join(home, '.cursor/mcp.json'), 'utf8')).toBe(HAND);
    expect(remove.stderr).toMatch(/^warning: Cursor: .*did not write.*left it/m);
  });

  it('remove, with the state file lost, still takes away an entry that is exactly what guard writes', async () => {
    const home = await makeHome({ '.cursor/mcp.json': CURSOR, '.sphyr/config.json': LOGGED_IN });
    expect((await sphyr(home, ['guard', 'init', '--yes'])).code).toBe(0);
    await rm(path.join(home, '.sphyr/guard-state.json'));
    expect((await sphyr(home, ['guard', 'remove', '--yes'])).code).toBe(0);
    expect(
      JSON.parse(await readFile(path.join(home, '.cursor/mcp.json'), 'utf8')).mcpServers,
    ).not.toHaveProperty('sphyr');
  });

  it('an entry guard wrote and nobody touched is still updated without --force', async () => {
    const home = await makeHome({ '.cursor/mcp.json': CURSOR, '.sphyr/config.json': LOGGED_IN });
    const file = path.join(home, '.cursor/mcp.json');
    expect((await sphyr(home, ['guard', 'init', '--yes'])).code).toBe(0);
    // As if an older install had written it: the file and the state file agree on an old path.
    const stateFile = path.join(home, '.sphyr/guard-state.json');
    const state = JSON.parse(await readFile(stateFile, 'utf8'));
    state.entries[0].entry.command = '/old/node';
    await writeFile(stateFile, JSON.stringify(state));
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace(JSON.stringify(process.execPath), '"/old/node"'),
    );
    const again = await sphyr(home, ['guard', 'init', '--yes']);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/warning/);
    expect(JSON.parse(await readFile(file, 'utf8')).mcpServers.sphyr.command).toBe(process.execPath);
  });
});
