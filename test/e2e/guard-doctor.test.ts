/**
 * `sphyr guard doctor` tells the truth (issue 13, items 9, 14, 16): each configured sphyr-mcp is
 * started as its client would start it (the real bin, built), and a `check_url` call must reach a
 * real gateway (in-process, on 127.0.0.1) with the credential. The CLI runs in-process.
 */

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { cleanHomes, makeHome, type Run, sphyr } from '../helpers/guard-cli.js';

const ENV_ECHO = path.join(ROOT, 'fixtures', 'mcp', 'env-echo-server.mjs');

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.close();
  await cleanHomes();
});

/** ~/.sphyr/config.json as `sphyr login` writes it, for the test gateway (or another URL). */
function loggedIn(url = gw.gateway.url, credential = gw.credential.reveal()): string {
  return `${JSON.stringify({ gateway: url, credential }, null, 2)}\n`;
}

function lines(run: Run, mark: '✓' | '✗'): string[] {
  return run.stdout.split('\n').filter((l) => l.startsWith(mark));
}

async function initThenDoctor(
  layout: Record<string, string | null>,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Run> {
  const home = await makeHome(layout);
  const init = await sphyr(home, ['guard', 'init', '--yes', ...args], env);
  expect(init.code, init.stderr).toBe(0);
  return sphyr(home, ['guard', 'doctor'], env);
}

describe('item 9: doctor checks that check_url reaches the gateway with the credential', () => {
  it('logged in, gateway up: ✓, and the line says the gateway answered check_url', async () => {
    const doctor = await initThenDoctor({ '.cursor': null, '.sphyr/config.json': loggedIn() });
    expect(doctor.stdout).toMatch(
      /^✓ Cursor: .*answered \(tools: .*check_url.*\); the gateway answered check_url with its credential \(block, ssrf_metadata\)/m,
    );
    expect(doctor.code).toBe(0);
  });

  it('the gateway is down: ✗ gateway_unreachable, with the fix; exit 1', async () => {
    const doctor = await initThenDoctor({
      '.cursor': null,
      '.sphyr/config.json': loggedIn('http://127.0.0.1:9'),
    });
    const [line] = lines(doctor, '✗');
    expect(line).toMatch(/^✗ Cursor: .*gateway is unreachable.*gateway_unreachable/);
    expect(line).toMatch(/sphyr gateway start/);
    expect(doctor.code).toBe(1);
  });

  it('no credential anywhere: ✗ not_configured, with `sphyr login` as the fix; exit 1', async () => {
    const doctor = await initThenDoctor({ '.cursor': null });
    const [line] = lines(doctor, '✗');
    expect(line).toMatch(/^✗ Cursor: .*no credential reaches sphyr-mcp.*not_configured/);
    expect(line).toMatch(/sphyr login/);
    expect(doctor.code).toBe(1);
  });

  it('a revoked key: ✗ the gateway refused the credential; exit 1', async () => {
    const other = await startTestGateway();
    try {
      await other.gateway.store.revokeKey(other.credential.keyId, Date.now());
      const doctor = await initThenDoctor({
        '.cursor': null,
        '.sphyr/config.json': loggedIn(other.gateway.url, other.credential.reveal()),
      });
      expect(lines(doctor, '✗')[0]).toMatch(/refused the credential.*key_revoked.*sphyr login/);
      expect(doctor.code).toBe(1);
    } finally {
      await other.close();
    }
  });
});

describe("item 14: doctor runs each entry with its client's own environment rule", () => {
  it('credential only exported: Gemini CLI drops it (✗, saying why), Claude Code passes it (✓)', async () => {
    const exported = { SPHYR_CREDENTIAL: gw.credential.reveal(), SPHYR_GATEWAY_URL: gw.gateway.url };
    const doctor = await initThenDoctor(
      { '.gemini/settings.json': '{}\n', '.claude.json': '{}\n' },
      ['--client', 'gemini-cli', '--client', 'claude-code'],
      exported,
    );
    expect(doctor.stdout).toMatch(/^✓ Claude Code: .*the gateway answered check_url/m);
    const gemini = doctor.stdout.split('\n').find((l) => l.startsWith('✗ Gemini CLI')) ?? '';
    expect(gemini).toMatch(/not_configured/);
    expect(gemini).toMatch(/Gemini CLI does not pass SPHYR_CREDENTIAL/);
    expect(gemini).toMatch(/--embed-credential/);
    expect(doctor.code).toBe(1);
  });

  it('the same with a login file: both ✓ (sphyr-mcp falls back to ~/.sphyr/config.json)', async () => {
    const doctor = await initThenDoctor(
      { '.gemini/settings.json': '{}\n', '.claude.json': '{}\n', '.sphyr/config.json': loggedIn() },
      ['--client', 'gemini-cli', '--client', 'claude-code'],
      { SPHYR_CREDENTIAL: gw.credential.reveal() },
    );
    expect(lines(doctor, '✓')).toHaveLength(2);
    expect(doctor.code).toBe(0);
  });
});

describe('item 16: doctor checks the wrapped servers, Claude Code local scopes included', () => {
  it('a working wrapped server ✓ (credential checked too), one whose upstream exits at once ✗', async () => {
    const claude = {
      mcpServers: { echo: { type: 'stdio', command: process.execPath, args: [ENV_ECHO], env: {} } },
      projects: {
        '/home/me/app': {
          mcpServers: { broken: { command: process.execPath, args: ['-e', 'process.exit(3)'] } },
        },
      },
    };
    const doctor = await initThenDoctor(
      { '.claude.json': `${JSON.stringify(claude, null, 2)}\n`, '.sphyr/config.json': loggedIn() },
      ['--wrap-existing', '--client', 'claude-code'],
    );
    expect(doctor.stdout).toMatch(/^✓ Claude Code: .*check_url/m);
    expect(doctor.stdout).toMatch(
      /^✓ Claude Code \(echo, wrapped\): env-echo .*the gateway answered check_url/m,
    );
    expect(doctor.stdout).toMatch(
      /^✗ Claude Code \(projects\["\/home\/me\/app"\]\.mcpServers\.broken, wrapped\): .*upstream MCP server exited/m,
    );
    expect(doctor.code).toBe(1);
  });
});
