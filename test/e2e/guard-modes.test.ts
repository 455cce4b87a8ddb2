import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SPHYR_BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

const run = promisify(execFile);

/** `umask 000; sphyr …`: nothing guard creates may come out writable by others. */
async function underUmask000(args: string[], home: string, cwd = home): Promise<void> {
  await run('sh', ['-c', 'umask 000 && exec "$@"', 'sh', process.execPath, SPHYR_BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') },
  });
}

async function modeOf(p: string): Promise<string> {
  return ((await stat(p)).mode & 0o777).toString(8);
}

describe('guard under umask 000 (issue 11 review F4)', () => {
  it('creates client folders without group or other write bits, user and project alike', async () => {
    const home = await tempDir('sphyr-umask-');
    // Detected clients whose config folder does not exist yet: guard creates it.
    await mkdir(path.join(home, '.codeium', 'windsurf'), { recursive: true });
    await underUmask000(['guard', 'init', '--yes', '--client', 'cursor', '--client', 'codex'], home);
    const project = await tempDir('sphyr-umask-project-');
    await underUmask000(
      ['guard', 'init', '--yes', '--project', project, '--client', 'vscode'],
      home,
      project,
    );
    for (const dir of [
      path.join(home, '.cursor'),
      path.join(home, '.codex'),
      path.join(project, '.vscode'),
    ]) {
      const mode = Number.parseInt(await modeOf(dir), 8);
      expect({ dir, writableByOthers: (mode & 0o022) !== 0 }).toEqual({ dir, writableByOthers: false });
    }
    for (const file of [path.join(home, '.cursor', 'mcp.json'), path.join(project, '.vscode', 'mcp.json')]) {
      const mode = Number.parseInt(await modeOf(file), 8);
      expect({ file, writableByOthers: (mode & 0o022) !== 0 }).toEqual({ file, writableByOthers: false });
    }
  });
});
