/**
 * `sphyr guard …` says what is true (issue 13, items 9–12 and 17): the CLI run in-process
 * (`main(argv, io)`) on a temp HOME, so every case is fast and needs no build.
 */

import { chmod, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIENTS } from '../../clients/index.js';
import { cleanHomes, makeHome, sphyr } from '../helpers/guard-cli.js';

afterAll(cleanHomes);

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

  it('every backup is 0600: init\'s of a 0644 file, and remove\'s of the file --embed-credential wrote', async () => {
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
