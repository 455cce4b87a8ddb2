/**
 * Issue 13 item 13: each client's own dialect, exactly. Guard never writes, and never reports as
 * healthy, a file its client would refuse (comments, trailing commas, a byte order mark). The facts
 * for Claude Code, Codex, Gemini CLI and opencode were taken from the clients themselves
 * (test/real-clients checks them against the installed clients on every run).
 */

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIENTS, clientById } from '../../clients/index.js';
import { cleanHomes, makeHome, sphyr } from '../helpers/guard-cli.js';

afterAll(cleanHomes);

const BOM = '\uFEFF';
const SPHYR = (script: string) => `"sphyr": { "command": "/usr/bin/node", "args": ["${script}"] }`;

interface Row {
  client: string;
  files: Array<{ file: string; configured: boolean; upToDate: boolean; problem?: string }>;
}

async function statusOf(home: string, id: string): Promise<Row['files']> {
  const run = await sphyr(home, ['guard', 'status', '--json', '--client', id]);
  return (JSON.parse(run.stdout) as Row[])[0]?.files ?? [];
}

/** init for one client: refused, the file byte for byte as it was, the message naming the problem. */
async function expectRefused(home: string, id: string, rel: string, problem: RegExp): Promise<void> {
  const file = path.join(home, rel);
  const before = await readFile(file);
  const init = await sphyr(home, ['guard', 'init', '--yes', '--client', id]);
  expect(init.code).toBe(1);
  const name = clientById(id)?.displayName as string;
  const line = init.stderr.split('\n').find((l) => l.startsWith(`✗ ${name}:`)) ?? '';
  expect(line).toContain(file);
  expect(line).toMatch(problem);
  expect(line).toContain('left untouched');
  expect(await readFile(file)).toEqual(before);
  // status says so too: never "configured, up to date".
  const [row] = await statusOf(home, id);
  expect(row?.problem).toMatch(problem);
  expect(row?.upToDate).toBe(false);
  const text = await sphyr(home, ['guard', 'status', '--client', id]);
  expect(text.stdout).toMatch(/unreadable: /);
  expect(text.stdout).not.toMatch(/up to date/);
}

describe('Gemini CLI reads JSON with comments, but refuses trailing commas and a BOM', () => {
  it('a trailing comma in ~/.gemini/settings.json: init refuses it, status does not call it up to date', async () => {
    const home = await makeHome({
      '.gemini/settings.json': `{\n  // mine\n  "mcpServers": {\n    ${SPHYR('/opt/sphyr-mcp.js')},\n  },\n}\n`,
    });
    await expectRefused(home, 'gemini-cli', '.gemini/settings.json', /trailing comma.*line 5, column 3/);
  });

  it('a byte order mark at the start of ~/.gemini/settings.json is refused the same way', async () => {
    const home = await makeHome({ '.gemini/settings.json': `${BOM}{\n  "theme": "Default"\n}\n` });
    await expectRefused(home, 'gemini-cli', '.gemini/settings.json', /byte order mark.*Gemini CLI/);
  });

  it('comments are fine: init writes around them and keeps them', async () => {
    const text = '{\n  // my theme\n  "theme": "Default" /* dark later */\n}\n';
    const home = await makeHome({ '.gemini/settings.json': text });
    const init = await sphyr(home, ['guard', 'init', '--yes', '--client', 'gemini-cli']);
    expect(init.code).toBe(0);
    const after = await readFile(path.join(home, '.gemini/settings.json'), 'utf8');
    expect(after).toContain('// my theme');
    expect(after).toContain('/* dark later */');
    expect(after).not.toMatch(/,\s*[}\]]/); // and guard itself wrote no trailing comma
  });
});

describe('the strict-JSON clients: no comments, no trailing commas; a BOM only where the client skips it', () => {
  it('Claude Desktop (JSON.parse) refuses a BOM: status does not call a configured file up to date', async () => {
    const home = await makeHome({
      '.config/Claude/claude_desktop_config.json': `${BOM}{\n  "mcpServers": {\n    ${SPHYR('/opt/sphyr-mcp.js')}\n  }\n}\n`,
    });
    await expectRefused(
      home,
      'claude-desktop',
      '.config/Claude/claude_desktop_config.json',
      /byte order mark.*Claude Desktop/,
    );
  });

  it('Cursor refuses a BOM too', async () => {
    const home = await makeHome({ '.cursor/mcp.json': `${BOM}{\n  "mcpServers": {}\n}\n` });
    await expectRefused(home, 'cursor', '.cursor/mcp.json', /byte order mark.*Cursor/);
  });

  it('Claude Code reads a BOM (it skips it): init writes and keeps it', async () => {
    const home = await makeHome({ '.claude.json': `${BOM}{\n  "numStartups": 1\n}\n` });
    const init = await sphyr(home, ['guard', 'init', '--yes', '--client', 'claude-code']);
    expect(init.code).toBe(0);
    const after = await readFile(path.join(home, '.claude.json'), 'utf8');
    expect(after.startsWith(BOM)).toBe(true);
    expect(JSON.parse(after.slice(1)).mcpServers.sphyr.type).toBe('stdio');
  });
});

describe('opencode reads comments, trailing commas and a BOM', () => {
  it('all three at once: init writes, status calls it up to date, remove gives the bytes back', async () => {
    const text = `${BOM}{\n  // theme\n  "theme": "system",\n  "mcp": {\n    "x": { "type": "local", "command": ["x"], },\n  },\n}\n`;
    const home = await makeHome({ '.config/opencode/opencode.json': text });
    const file = path.join(home, '.config/opencode/opencode.json');
    expect((await sphyr(home, ['guard', 'init', '--yes', '--client', 'opencode'])).code).toBe(0);
    const [row] = await statusOf(home, 'opencode');
    expect(row).toMatchObject({ configured: true, upToDate: true });
    expect((await sphyr(home, ['guard', 'remove', '--yes'])).code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(text);
  });
});

describe('every adapter states its dialect', () => {
  it.each(CLIENTS.map((c) => [c.id, c] as const))('%s', (_id, client) => {
    expect(typeof client.dialect.comments).toBe('boolean');
    expect(typeof client.dialect.trailingCommas).toBe('boolean');
    expect(typeof client.dialect.bom).toBe('boolean');
    if (client.format === 'toml') expect(client.dialect.comments).toBe(true);
  });
});
