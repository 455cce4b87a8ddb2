/**
 * Issue 13 item 14: the environment each client really gives a stdio server. Claude Code 2.1.197,
 * Gemini CLI 0.61 and opencode 1.18 were observed with an env-dumping server (test/real-clients
 * re-checks it on every run); Codex's and the MCP SDK's allowlists come from their sources.
 */

import { describe, expect, it } from 'vitest';
import { clientById } from '../../clients/index.js';
import type { ClientAdapter } from '../../clients/types.js';

const PARENT = {
  HOME: '/home/me',
  PATH: '/usr/bin:/bin',
  SHELL: '/bin/zsh',
  USER: 'me',
  LANG: 'en_US.UTF-8',
  TERM: 'xterm',
  SPHYR_CREDENTIAL: 'sphyr.k_env1.secret',
  SPHYR_GATEWAY_URL: 'http://127.0.0.1:7470',
  PLAIN_VAR: '1',
  MY_API_TOKEN: 't',
  NVM_DIR: '/home/me/.nvm',
};

function passed(id: string, parent: Record<string, string> = PARENT, entry: unknown = {}): string[] {
  const client = clientById(id) as ClientAdapter;
  return Object.keys(client.inheritedEnv('linux', parent, entry)).sort();
}

describe("each client's rule for its servers' environment", () => {
  it('Gemini CLI drops SPHYR_CREDENTIAL (and every name with TOKEN, KEY, CREDENTIAL…), keeps the rest', () => {
    const names = passed('gemini-cli');
    expect(names).not.toContain('SPHYR_CREDENTIAL');
    expect(names).not.toContain('MY_API_TOKEN');
    expect(names).toEqual(
      expect.arrayContaining(['HOME', 'PATH', 'SPHYR_GATEWAY_URL', 'PLAIN_VAR', 'NVM_DIR', 'LANG']),
    );
  });

  it('Gemini CLI also drops a value that looks like a secret, and everything unlisted on GitHub Actions', () => {
    expect(
      passed('gemini-cli', { ...PARENT, NOTE: 'ghp_0123456789abcdefghijklmnopqrstuvwxyz' }),
    ).not.toContain('NOTE');
    const ci = passed('gemini-cli', { ...PARENT, GITHUB_SHA: 'abc' });
    expect(ci).not.toContain('PLAIN_VAR');
    expect(ci).not.toContain('SPHYR_GATEWAY_URL');
    expect(ci).toEqual(expect.arrayContaining(['HOME', 'PATH']));
  });

  it('Claude Code and opencode pass their whole environment', () => {
    for (const id of ['claude-code', 'opencode']) expect(passed(id), id).toEqual(Object.keys(PARENT).sort());
  });

  it("Codex passes its allowlist plus the entry's env_vars", () => {
    expect(passed('codex')).toEqual(['HOME', 'LANG', 'PATH', 'SHELL', 'TERM', 'USER']);
    expect(passed('codex', PARENT, { env_vars: ['SPHYR_CREDENTIAL', 'NOT_SET'] })).toContain(
      'SPHYR_CREDENTIAL',
    );
  });

  it('Claude Desktop, Cursor and the other SDK-based clients pass the MCP SDK allowlist only', () => {
    for (const id of ['claude-desktop', 'cursor', 'windsurf', 'antigravity', 'vscode', 'zed']) {
      expect(passed(id), id).toEqual(['HOME', 'PATH', 'SHELL', 'TERM', 'USER']);
    }
  });

  it('every adapter says its rule in words', () => {
    for (const id of ['gemini-cli', 'claude-code', 'codex', 'cursor']) {
      expect((clientById(id) as ClientAdapter).envRule, id).toMatch(/\w+/);
    }
    expect((clientById('gemini-cli') as ClientAdapter).envRule).toMatch(/CREDENTIAL/);
  });
});
