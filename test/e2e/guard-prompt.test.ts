import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SPHYR_BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

/** Run `sphyr guard init` on a real terminal (util-linux `script` gives it a pty) and answer the prompt. */
function initOnTerminal(home: string, answer: string): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, SPHYR_BIN, 'guard', 'init'].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', HOME: home, TERM: 'dumb' },
  });
  let output = '';
  let answered = false;
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (!answered && output.includes('[y/N]')) {
      answered = true;
      child.stdin.write(`${answer}\n`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

async function home(): Promise<{ home: string; file: string }> {
  const dir = await tempDir('sphyr-prompt-');
  await mkdir(path.join(dir, '.cursor'));
  const file = path.join(dir, '.cursor', 'mcp.json');
  await writeFile(file, '{\n  "mcpServers": {}\n}\n');
  return { home: dir, file };
}

describe('guard init on a terminal asks before writing', () => {
  it('shows the diff, asks, and writes after "y"', async () => {
    const { home: h, file } = await home();
    const { code, output } = await initOnTerminal(h, 'y');
    expect(output).toContain('+++ ');
    expect(output).toContain('Apply these changes to 1 file(s)? [y/N]');
    expect(code).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8')).mcpServers.sphyr.args[0]).toMatch(/sphyr-mcp\.js$/);
  }, 30_000);

  it('writes nothing after "n" (or just Enter) and exits 1', async () => {
    const { home: h, file } = await home();
    const { code, output } = await initOnTerminal(h, '');
    expect(output).toContain('Nothing was changed.');
    expect(code).toBe(1);
    expect(await readFile(file, 'utf8')).toBe('{\n  "mcpServers": {}\n}\n');
  }, 30_000);
});
