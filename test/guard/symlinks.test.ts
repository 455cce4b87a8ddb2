/**
 * Configs behind symlinks (dotfile managers): a link stays a link, dangling or not. Init writes
 * through it, remove gives back exactly what was there, loops and links into missing folders are
 * refused. Every case runs on a described Linux machine under a temp dir.
 */

import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clientById } from '../../clients/index.js';
import { sphyrLaunch } from '../../src/guard/launch.js';
import { changed, type FilePlan } from '../../src/guard/plan.js';
import type { GuardHost } from '../../src/guard/platform.js';
import { applyPlans, planInitAll, planRemoveAll, status } from '../../src/guard/run.js';
import { readState } from '../../src/guard/state.js';
import { isDetected } from '../../src/guard/targets.js';
import { tempDir } from '../helpers/gateway.js';

const LAUNCH = sphyrLaunch({
  platform: 'linux',
  nodePath: '/usr/bin/node',
  scriptPath: '/opt/sphyr/bin/sphyr-mcp.js',
});
const ENTRY = { command: '/usr/bin/node', args: ['/opt/sphyr/bin/sphyr-mcp.js'] };

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

async function host(): Promise<GuardHost> {
  const fsRoot = await tempDir('sphyr-links-');
  roots.push(fsRoot);
  return {
    platform: 'linux',
    env: {},
    home: '/home/me',
    fsRoot,
    now: () => new Date('2026-09-01T12:00:00Z'),
  };
}

/** A path under the described home, on this machine. */
function at(h: GuardHost, ...rel: string[]): string {
  return path.join(h.fsRoot as string, 'home', 'me', ...rel);
}

/** Every entry under `dir` but guard's own state: folders, links (with their text), files (with their bytes). */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string): Promise<void> {
    for (const name of await readdir(path.join(dir, rel))) {
      const r = path.join(rel, name);
      if (r === '.sphyr') continue;
      const info = await lstat(path.join(dir, r));
      if (info.isSymbolicLink()) out[r] = `link -> ${await readlink(path.join(dir, r))}`;
      else if (info.isDirectory()) {
        out[r] = 'dir';
        await walk(r);
      } else out[r] = `file ${await readFile(path.join(dir, r), 'utf8')}`;
    }
  }
  await walk('');
  return out;
}

function only(plans: FilePlan[], id: string): FilePlan {
  const mine = plans.filter((p) => p.target.client.id === id);
  expect(mine).toHaveLength(1);
  return mine[0] as FilePlan;
}

async function init(h: GuardHost, id: string): Promise<FilePlan> {
  const plan = only(await planInitAll(h, { clients: [] }, LAUNCH, false), id);
  expect(plan.error).toBeUndefined();
  const results = await applyPlans(h, [plan], 'init');
  expect(results.map((r) => r.error)).toEqual([undefined]);
  return plan;
}

async function remove(h: GuardHost, id: string): Promise<void> {
  const plan = only(await planRemoveAll(h, { clients: [] }), id);
  expect(plan.error).toBeUndefined();
  const results = await applyPlans(h, [plan], 'remove');
  expect(results.map((r) => r.error)).toEqual([undefined]);
}

async function isLink(p: string): Promise<boolean> {
  return (await lstat(p)).isSymbolicLink();
}

describe('a dangling link: init creates its target, remove deletes the target and keeps the link', () => {
  it('~/.cursor/mcp.json → ../dotfiles/cursor-mcp.json (relative, target missing, its folder there)', async () => {
    const h = await host();
    await mkdir(at(h, '.cursor'), { recursive: true });
    await mkdir(at(h, 'dotfiles'));
    const link = at(h, '.cursor', 'mcp.json');
    await symlink('../dotfiles/cursor-mcp.json', link);
    const before = await tree(at(h));

    const statusBefore = await status(h, { clients: ['cursor'] }, [LAUNCH]);
    expect(statusBefore[0]?.files).toEqual([
      { file: '/home/me/.cursor/mcp.json', label: 'user', configured: false, upToDate: false },
    ]);

    const plan = await init(h, 'cursor');
    expect(plan.snap.raw).toBeUndefined();
    expect(await isLink(link)).toBe(true);
    expect(await readlink(link)).toBe('../dotfiles/cursor-mcp.json');
    const target = at(h, 'dotfiles', 'cursor-mcp.json');
    expect(JSON.parse(await readFile(target, 'utf8')).mcpServers.sphyr).toEqual(ENTRY);
    expect(await readdir(at(h, '.cursor'))).toEqual(['mcp.json']); // no backup, no temp file
    expect(await readdir(at(h, 'dotfiles'))).toEqual(['cursor-mcp.json']);
    const state = await readState(h);
    expect(state.entries).toEqual([
      expect.objectContaining({ client: 'cursor', createdFile: true, createdThroughLink: true }),
    ]);

    const statusAfter = await status(h, { clients: ['cursor'] }, [LAUNCH]);
    expect(statusAfter[0]?.files[0]).toMatchObject({ configured: true, upToDate: true });

    // A second init changes nothing.
    expect((await planInitAll(h, { clients: [] }, LAUNCH, false)).filter(changed)).toEqual([]);

    await remove(h, 'cursor');
    expect(await tree(at(h))).toEqual(before);
    expect(await isLink(link)).toBe(true);
    expect(existsSync(target)).toBe(false);
  });

  it('a chain: an absolute link to a relative link to a missing file', async () => {
    const h = await host();
    await mkdir(at(h, '.cursor'), { recursive: true });
    await mkdir(at(h, 'links'));
    await mkdir(at(h, 'dotfiles'));
    await symlink('../dotfiles/cursor.json', at(h, 'links', 'cursor'));
    await symlink(at(h, 'links', 'cursor'), at(h, '.cursor', 'mcp.json'));
    const before = await tree(at(h));

    await init(h, 'cursor');
    expect(await readlink(at(h, '.cursor', 'mcp.json'))).toBe(at(h, 'links', 'cursor'));
    expect(await readlink(at(h, 'links', 'cursor'))).toBe('../dotfiles/cursor.json');
    expect(JSON.parse(await readFile(at(h, 'dotfiles', 'cursor.json'), 'utf8')).mcpServers.sphyr).toEqual(
      ENTRY,
    );

    await remove(h, 'cursor');
    expect(await tree(at(h))).toEqual(before);
  });

  it('a link in a linked folder: `..` is taken from the real folder, as the OS does', async () => {
    const h = await host();
    // ~/.cursor → real/cursor; ~/.cursor/mcp.json → ../dotfiles/c.json means real/dotfiles/c.json.
    await mkdir(at(h, 'real', 'cursor'), { recursive: true });
    await mkdir(at(h, 'real', 'dotfiles'));
    await symlink('real/cursor', at(h, '.cursor'));
    await symlink('../dotfiles/c.json', at(h, 'real', 'cursor', 'mcp.json'));

    await init(h, 'cursor');
    expect(JSON.parse(await readFile(at(h, 'real', 'dotfiles', 'c.json'), 'utf8')).mcpServers.sphyr).toEqual(
      ENTRY,
    );
    expect(existsSync(at(h, 'dotfiles'))).toBe(false);
    expect(await isLink(at(h, 'real', 'cursor', 'mcp.json'))).toBe(true);
    await remove(h, 'cursor');
    expect(await readdir(at(h, 'real', 'dotfiles'))).toEqual([]);
    expect(await readlink(at(h, 'real', 'cursor', 'mcp.json'))).toBe('../dotfiles/c.json');
  });

  it('a link into a folder that does not exist is refused before anything is written, the link untouched', async () => {
    const h = await host();
    await mkdir(at(h, '.cursor'), { recursive: true });
    const link = at(h, '.cursor', 'mcp.json');
    await symlink('../dotfiles/cursor-mcp.json', link);
    const before = await tree(at(h));

    const plan = only(await planInitAll(h, { clients: [] }, LAUNCH, false), 'cursor');
    expect(plan.error?.code).toBe('config_link_dangling');
    expect(plan.error?.message).toContain(link);
    expect(plan.error?.message).toContain(at(h, 'dotfiles'));
    expect(plan.error?.message).toMatch(/does not exist/);
    expect(changed(plan)).toBe(false);
    expect(await applyPlans(h, [plan], 'init')).toEqual([]);
    expect(await tree(at(h))).toEqual(before);
    expect((await readState(h)).entries).toEqual([]);
  });
});

describe('link loops are refused with a clear message', () => {
  it.each([
    ['a link to itself', [['.cursor/mcp.json', 'mcp.json']]],
    [
      'two links pointing at each other',
      [
        ['.cursor/mcp.json', '../dotfiles/a.json'],
        ['dotfiles/a.json', '../.cursor/mcp.json'],
      ],
    ],
    [
      'a loop further down the chain',
      [
        ['.cursor/mcp.json', '../dotfiles/a.json'],
        ['dotfiles/a.json', 'b.json'],
        ['dotfiles/b.json', 'a.json'],
      ],
    ],
  ])('%s', async (_name, links) => {
    const h = await host();
    await mkdir(at(h, '.cursor'), { recursive: true });
    await mkdir(at(h, 'dotfiles'));
    for (const [from, to] of links as string[][]) await symlink(to as string, at(h, from as string));
    const before = await tree(at(h));

    const plan = only(await planInitAll(h, { clients: [] }, LAUNCH, false), 'cursor');
    expect(plan.error?.code).toBe('config_link_loop');
    expect(plan.error?.message).toContain(at(h, '.cursor', 'mcp.json'));
    expect(plan.error?.message).toMatch(/symbolic link loop/);
    expect(await applyPlans(h, [plan], 'init')).toEqual([]);

    const rows = await status(h, { clients: ['cursor'] }, [LAUNCH]);
    expect(rows[0]?.files[0]?.problem).toMatch(/symbolic link loop/);

    const removal = only(await planRemoveAll(h, { clients: ['cursor'] }), 'cursor');
    expect(removal.error?.code).toBe('config_link_loop');
    expect(await tree(at(h))).toEqual(before);
  });
});

describe('a link to an existing file: init edits the target, remove restores its bytes, the link stays', () => {
  it('through a chain of two links; the backup is a plain copy next to the config path', async () => {
    const h = await host();
    const original =
      '{\n  "mcpServers": {\n    "other": { "command": "uvx", "args": ["other-mcp"] }\n  }\n}\n';
    await mkdir(at(h, '.cursor'), { recursive: true });
    await mkdir(at(h, 'dotfiles', 'cursor'), { recursive: true });
    await writeFile(at(h, 'dotfiles', 'cursor', 'mcp.json'), original);
    await symlink('cursor/mcp.json', at(h, 'dotfiles', 'current.json'));
    await symlink(at(h, 'dotfiles', 'current.json'), at(h, '.cursor', 'mcp.json'));

    const plan = await init(h, 'cursor');
    expect(plan.snap.raw).toBe(original);
    const edited = await readFile(at(h, 'dotfiles', 'cursor', 'mcp.json'), 'utf8');
    expect(JSON.parse(edited).mcpServers).toEqual({
      other: { command: 'uvx', args: ['other-mcp'] },
      sphyr: ENTRY,
    });
    expect(await readlink(at(h, '.cursor', 'mcp.json'))).toBe(at(h, 'dotfiles', 'current.json'));
    expect(await readlink(at(h, 'dotfiles', 'current.json'))).toBe('cursor/mcp.json');

    // The backup sits where the user looks (not in a dotfiles repo) and is a copy, not a link.
    const backups = (await readdir(at(h, '.cursor'))).filter((n) => n.includes('.sphyr-backup-'));
    expect(backups).toEqual(['mcp.json.sphyr-backup-20260901T120000Z']);
    const backup = at(h, '.cursor', backups[0] as string);
    expect((await lstat(backup)).isFile()).toBe(true);
    expect(await readFile(backup, 'utf8')).toBe(original);
    expect(await readdir(at(h, 'dotfiles', 'cursor'))).toEqual(['mcp.json']);
    expect(await readdir(at(h, 'dotfiles'))).toEqual(['current.json', 'cursor']);

    const rows = await status(h, { clients: ['cursor'] }, [LAUNCH]);
    expect(rows[0]?.files[0]).toMatchObject({ configured: true, upToDate: true });

    await remove(h, 'cursor');
    expect(await readFile(at(h, 'dotfiles', 'cursor', 'mcp.json'), 'utf8')).toBe(original);
    expect(await isLink(at(h, '.cursor', 'mcp.json'))).toBe(true);
    expect(await isLink(at(h, 'dotfiles', 'current.json'))).toBe(true);
    expect(await readdir(at(h, 'dotfiles', 'cursor'))).toEqual(['mcp.json']);
  });
});

describe('detection and choice look at the link itself', () => {
  it('Gemini CLI, whose only trace is ~/.gemini/settings.json as a dangling link, is detected and written through it', async () => {
    const h = await host();
    await mkdir(at(h, '.gemini'), { recursive: true });
    await mkdir(at(h, 'dotfiles'));
    await symlink('../dotfiles/gemini.json', at(h, '.gemini', 'settings.json'));
    expect(await isDetected(h, clientById('gemini-cli') as NonNullable<ReturnType<typeof clientById>>)).toBe(
      true,
    );

    await init(h, 'gemini-cli');
    expect(await readlink(at(h, '.gemini', 'settings.json'))).toBe('../dotfiles/gemini.json');
    expect(JSON.parse(await readFile(at(h, 'dotfiles', 'gemini.json'), 'utf8')).mcpServers.sphyr).toEqual(
      ENTRY,
    );
    await remove(h, 'gemini-cli');
    expect(await readdir(at(h, 'dotfiles'))).toEqual([]);
    expect(await readlink(at(h, '.gemini', 'settings.json'))).toBe('../dotfiles/gemini.json');
  });

  it('opencode: a dangling opencode.jsonc link is the file used, no opencode.json is created beside it', async () => {
    const h = await host();
    const dir = at(h, '.config', 'opencode');
    await mkdir(dir, { recursive: true });
    await mkdir(at(h, 'dotfiles'));
    await symlink('../../dotfiles/opencode.jsonc', path.join(dir, 'opencode.jsonc'));

    const plan = await init(h, 'opencode');
    expect(plan.target.file).toBe('/home/me/.config/opencode/opencode.jsonc');
    expect(await readdir(dir)).toEqual(['opencode.jsonc']);
    expect(JSON.parse(await readFile(at(h, 'dotfiles', 'opencode.jsonc'), 'utf8')).mcp.sphyr).toMatchObject({
      type: 'local',
    });
    await remove(h, 'opencode');
    expect(await readdir(at(h, 'dotfiles'))).toEqual([]);
    expect(await isLink(path.join(dir, 'opencode.jsonc'))).toBe(true);
  });
});

describe('links elsewhere on the path', () => {
  it('a dangling link as the config folder (~/.cursor → dotfiles/cursor, missing): refused, nothing created', async () => {
    const h = await host();
    await mkdir(at(h, 'dotfiles'), { recursive: true });
    await symlink('dotfiles/cursor', at(h, '.cursor'));
    const before = await tree(at(h));

    const plan = only(await planInitAll(h, { clients: ['cursor'] }, LAUNCH, false), 'cursor');
    expect(plan.error?.code).toBe('config_link_dangling');
    expect(plan.error?.message).toContain(at(h, '.cursor'));
    expect(plan.error?.message).toContain(at(h, 'dotfiles', 'cursor'));
    expect(await applyPlans(h, [plan], 'init')).toEqual([]);
    expect(await tree(at(h))).toEqual(before);
  });

  it('remove keeps a file whose shape changed since init (the link it wrote through replaced by a copy)', async () => {
    const h = await host();
    await mkdir(at(h, '.cursor'), { recursive: true });
    await mkdir(at(h, 'dotfiles'));
    const link = at(h, '.cursor', 'mcp.json');
    await symlink('../dotfiles/cursor-mcp.json', link);
    await init(h, 'cursor');
    // The user swaps the link for a plain copy: that file is theirs now, only our entry leaves it.
    const copy = await readFile(at(h, 'dotfiles', 'cursor-mcp.json'), 'utf8');
    await rm(link);
    await writeFile(link, copy);

    await remove(h, 'cursor');
    expect((await lstat(link)).isFile()).toBe(true);
    expect(await readFile(link, 'utf8')).not.toContain('sphyr');
    expect(await readFile(at(h, 'dotfiles', 'cursor-mcp.json'), 'utf8')).toBe(copy);
  });
});

describe('issue 11 review: links and hard links as the OS sees them', () => {
  it('F12: `..` after a linked folder in the link text is taken after following that link, as the kernel does', async () => {
    const h = await host();
    // ~/cfg → <root>/srv/dots/cursor; ~/.cursor/mcp.json → ../cfg/../cursor/mcp.json, which the OS
    // reads as <root>/srv/dots/cursor/mcp.json (cfg/.. is <root>/srv/dots, not ~).
    const dots = path.join(h.fsRoot as string, 'srv', 'dots', 'cursor');
    await mkdir(dots, { recursive: true });
    await writeFile(path.join(dots, 'mcp.json'), '{ "mcpServers": {} }\n');
    await mkdir(at(h, '.cursor'), { recursive: true });
    await mkdir(at(h, 'cursor'), { recursive: true }); // the lexical reading's folder, a decoy
    await symlink(dots, at(h, 'cfg'));
    await symlink('../cfg/../cursor/mcp.json', at(h, '.cursor', 'mcp.json'));
    await init(h, 'cursor');
    expect(JSON.parse(await readFile(path.join(dots, 'mcp.json'), 'utf8')).mcpServers.sphyr).toEqual(ENTRY);
    expect(existsSync(at(h, 'cursor', 'mcp.json'))).toBe(false);
    const statusAfter = await status(h, { clients: ['cursor'] }, [LAUNCH]);
    expect(statusAfter[0]?.files[0]).toMatchObject({ configured: true, upToDate: true });
  });

  it('F11: a hard-linked config keeps its links: edited in place, the other name sees the entry', async () => {
    const h = await host();
    await mkdir(at(h, '.cursor'), { recursive: true });
    await mkdir(at(h, 'dotfiles'));
    const original = '{\n  "mcpServers": {}\n}\n';
    await writeFile(at(h, 'dotfiles', 'cursor-mcp.json'), original);
    const { link: hardLink, stat } = await import('node:fs/promises');
    await hardLink(at(h, 'dotfiles', 'cursor-mcp.json'), at(h, '.cursor', 'mcp.json'));
    const inode = (await stat(at(h, '.cursor', 'mcp.json'))).ino;
    await init(h, 'cursor');
    expect((await stat(at(h, '.cursor', 'mcp.json'))).ino).toBe(inode);
    expect((await stat(at(h, '.cursor', 'mcp.json'))).nlink).toBe(2);
    const viaOther = JSON.parse(await readFile(at(h, 'dotfiles', 'cursor-mcp.json'), 'utf8'));
    expect(viaOther.mcpServers.sphyr).toEqual(ENTRY);
    await remove(h, 'cursor');
    expect((await stat(at(h, '.cursor', 'mcp.json'))).ino).toBe(inode);
    expect(await readFile(at(h, 'dotfiles', 'cursor-mcp.json'), 'utf8')).toBe(original);
  });
});
