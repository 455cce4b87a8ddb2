/** `sphyr …` run in-process on a temp HOME (no build, no terminal): the guard tests' CLI harness. */

import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { tempDir } from './gateway.js';

const dirs: string[] = [];

/** Delete every HOME made so far (call from afterAll). */
export async function cleanHomes(): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** A temp HOME with these files (string or bytes) and folders (null). */
export async function makeHome(layout: Record<string, string | Buffer | null> = {}): Promise<string> {
  const home = await tempDir('sphyr-guard-truth-');
  dirs.push(home);
  for (const [rel, content] of Object.entries(layout)) {
    const p = path.join(home, rel);
    if (content === null) await mkdir(p, { recursive: true });
    else {
      await mkdir(path.dirname(p), { recursive: true });
      await writeFile(p, content);
    }
  }
  return home;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `sphyr <args>` with HOME = home and only PATH plus `env` in its environment; no terminal. */
export async function sphyr(home: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env },
    home,
    platform: 'linux',
  };
  const code = await main(args, io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}
