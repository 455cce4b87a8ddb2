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
import { describe, expect, it } from 'vitest';
import { snapshot, writeSafely } from '../../src/guard/safe-write.js';
import { tempDir } from '../helpers/gateway.js';

const NOW = new Date('2026-11-26T03:04:05.678Z');

describe('writeSafely: backup, same mode, atomic rename, no clobbering', () => {
  it('keeps the mode, leaves a timestamped backup of the old bytes, and no temp file', async () => {
    const dir = await tempDir('sphyr-safe-');
    const file = path.join(dir, 'mcp.json');
    await writeFile(file, '{"old": true}\n');
    await chmod(file, 0o640);
    const snap = await snapshot(file);
    const backup = await writeSafely(snap, '{"new": true}\n', NOW);
    expect(await readFile(file, 'utf8')).toBe('{"new": true}\n');
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(backup).toBe(`${file}.sphyr-backup-20261126T030405Z`);
    expect(await readFile(backup as string, 'utf8')).toBe('{"old": true}\n');
    expect((await stat(backup as string)).mode & 0o777).toBe(0o600); // owner-only, whatever the file
    expect((await readdir(dir)).sort()).toEqual(['mcp.json', 'mcp.json.sphyr-backup-20261126T030405Z']);
  });

  it('writes nothing when another writer changed the file after it was read', async () => {
    const dir = await tempDir('sphyr-safe-');
    const file = path.join(dir, 'settings.json');
    await writeFile(file, '{"a": 1}\n');
    const snap = await snapshot(file);
    await writeFile(file, '{"a": 1, "theirs": true}\n'); // the app saved meanwhile
    await expect(writeSafely(snap, '{"a": 1, "ours": true}\n', NOW)).rejects.toMatchObject({
      code: 'config_changed',
      message: expect.stringContaining(file),
    });
    expect(await readFile(file, 'utf8')).toBe('{"a": 1, "theirs": true}\n');
    expect(await readdir(dir)).toEqual(['settings.json']); // no backup, no temp file left behind
  });

  it('creates a new file (0600 when asked) and its folder, with no backup', async () => {
    const dir = await tempDir('sphyr-safe-');
    const file = path.join(dir, 'new', 'mcp.json');
    const snap = await snapshot(file);
    expect(snap.raw).toBeUndefined();
    expect(await writeSafely(snap, '{}\n', NOW, 0o600)).toBeUndefined();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a directory where the file should be', async () => {
    const dir = await tempDir('sphyr-safe-');
    await expect(snapshot(dir)).rejects.toMatchObject({ code: 'config_is_directory' });
  });

  it('reads through a symlink (the engine writes to the link target)', async () => {
    const dir = await tempDir('sphyr-safe-');
    const target = path.join(dir, 'dotfiles-mcp.json');
    await writeFile(target, '{}\n');
    await symlink(target, path.join(dir, 'mcp.json'));
    expect((await snapshot(path.join(dir, 'mcp.json'))).raw).toBe('{}\n');
  });
});

describe('writeSafely through a symlink: the link stays a link', () => {
  it('a dangling link whose target folder exists: the target is created, the link kept', async () => {
    const dir = await tempDir('sphyr-safe-');
    await mkdir(path.join(dir, 'dotfiles'));
    const link = path.join(dir, 'mcp.json');
    await symlink('dotfiles/mcp.json', link);
    const snap = await snapshot(link);
    expect(snap.raw).toBeUndefined();
    expect(await writeSafely(snap, '{}\n', NOW)).toBeUndefined();
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe('dotfiles/mcp.json');
    expect(await readFile(path.join(dir, 'dotfiles', 'mcp.json'), 'utf8')).toBe('{}\n');
    expect((await readdir(dir)).sort()).toEqual(['dotfiles', 'mcp.json']);
  });

  it('a dangling link whose target folder is missing: refused, nothing created, the link kept', async () => {
    const dir = await tempDir('sphyr-safe-');
    const link = path.join(dir, 'mcp.json');
    await symlink('dotfiles/mcp.json', link);
    const snap = await snapshot(link);
    await expect(writeSafely(snap, '{}\n', NOW)).rejects.toMatchObject({ code: 'config_link_dangling' });
    expect(await readlink(link)).toBe('dotfiles/mcp.json');
    expect(await readdir(dir)).toEqual(['mcp.json']);
  });

  it('a link pointed elsewhere after it was read: nothing is written (another writer won)', async () => {
    const dir = await tempDir('sphyr-safe-');
    await writeFile(path.join(dir, 'a.json'), '{}\n');
    await writeFile(path.join(dir, 'b.json'), '{}\n');
    const link = path.join(dir, 'mcp.json');
    await symlink('a.json', link);
    const snap = await snapshot(link);
    await rm(link);
    await symlink('b.json', link); // same bytes, another file
    await expect(writeSafely(snap, '{"ours": true}\n', NOW)).rejects.toMatchObject({
      code: 'config_changed',
    });
    expect(await readlink(link)).toBe('b.json');
    expect(await readFile(path.join(dir, 'a.json'), 'utf8')).toBe('{}\n');
    expect(await readFile(path.join(dir, 'b.json'), 'utf8')).toBe('{}\n');
    expect((await readdir(dir)).sort()).toEqual(['a.json', 'b.json', 'mcp.json']);
  });

  it('a link loop is refused when read', async () => {
    const dir = await tempDir('sphyr-safe-');
    await symlink('b.json', path.join(dir, 'a.json'));
    await symlink('a.json', path.join(dir, 'b.json'));
    await expect(snapshot(path.join(dir, 'a.json'))).rejects.toMatchObject({
      code: 'config_link_loop',
      message: expect.stringContaining('symbolic link loop'),
    });
  });
});
