import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientEnv, handshake } from '../../src/guard/doctor.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

// The MCP SDK's POSIX default allowlist, as most clients pass it.
const POSIX_ALLOWLIST = ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER'];
const ENV_ECHO = path.join(ROOT, 'fixtures', 'mcp', 'env-echo-server.mjs');
const node = process.execPath;

describe('clientEnv', () => {
  it('takes only allowlisted names, skips unset ones, and lets the entry env win', () => {
    const env = clientEnv(
      ['HOME', 'PATH', 'TERM'],
      { HOME: '/h', PATH: '/bin', TERM: undefined, NVM_DIR: '/nvm' },
      { PATH: '/entry/bin', SPHYR_KEY: 'k' },
    );
    expect(env).toEqual({ HOME: '/h', PATH: '/entry/bin', SPHYR_KEY: 'k' });
  });
});

describe('handshake', () => {
  it('passes against the real sphyr-mcp launched with a client-like env', async () => {
    const home = await tempDir('sphyr-doctor-');
    const env = clientEnv(POSIX_ALLOWLIST, { ...process.env, HOME: home }, {});
    const result = await handshake({ command: node, args: [path.join(ROOT, 'bin', 'sphyr-mcp.js')], env });
    expect(result.reason).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.serverName).toBeTruthy();
    expect(result.tools).toEqual(expect.arrayContaining(['fetch', 'check_url', 'recent_requests']));
  });

  it('reports a command that does not exist', async () => {
    const result = await handshake({ command: '/no/such/node', args: [], env: {} });
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/not found: \/no\/such\/node \(spawn ENOENT\)/);
  });

  it('gives the PATH hint for a bare command name', async () => {
    const result = await handshake({
      command: 'sphyr-no-such-command',
      args: [],
      env: { PATH: '/nonexistent' },
    });
    expect(result.ok).toBe(false);
    expect(result.reason).toContain('command not found: sphyr-no-such-command');
    expect(result.reason).toContain('absolute path');
  });

  it('reports the exit code of a server that exits at once, with its stderr', async () => {
    const result = await handshake({
      command: node,
      args: ['-e', "process.stderr.write('boom: bad config\\n'); process.exit(3)"],
      env: {},
    });
    expect(result.ok).toBe(false);
    expect(result.reason).toBe('the server exited with code 3 before answering initialize');
    expect(result.stderrTail).toContain('boom: bad config');
  });

  it('times out on a server that prints garbage and never answers, and names the garbage', async () => {
    const started = Date.now();
    const result = await handshake(
      { command: node, args: ['-e', "console.log('hello'); setInterval(() => {}, 1000)"], env: {} },
      { timeoutMs: 1500 },
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/^no answer to initialize within 1\.5 s/);
    expect(result.reason).toContain('stdout carried non-MCP output');
    expect(result.ms).toBeGreaterThanOrEqual(1500);
  });

  it('gives the child exactly launch.env: no SDK defaults, nothing outside the allowlist', async () => {
    const env = clientEnv(
      POSIX_ALLOWLIST,
      { HOME: '/tmp', PATH: process.env.PATH, NVM_DIR: '/home/u/.nvm', SHELL: undefined },
      { ECHO_VERSION: '9.9.9' },
    );
    const result = await handshake({ command: node, args: [ENV_ECHO], env });
    expect(result.ok).toBe(true);
    expect(result.serverVersion).toBe('9.9.9');
    // macOS may stamp __CF_USER_TEXT_ENCODING on any process; it is not ours to judge.
    const seen = (result.tools ?? []).filter((n) => n !== '__CF_USER_TEXT_ENCODING').sort();
    expect(seen).toEqual(Object.keys(env).sort());
    expect(seen).not.toContain('NVM_DIR');
  });

  it.skipIf(process.platform === 'win32')('drops HOME, PATH… when the client passes none', async () => {
    // libuv adds SYSTEMROOT and friends on Windows, hence the skip.
    const result = await handshake({ command: node, args: [ENV_ECHO], env: { ONLY: '1' } });
    expect(result.ok).toBe(true);
    expect(result.tools).toEqual(['ONLY']);
  });

  it('never reveals a credential the server prints', async () => {
    const credential = 'sphyr.k1d_abc.S3cretValue-0123456789';
    const result = await handshake(
      {
        command: node,
        args: [
          '-e',
          [
            `process.stderr.write('using ${credential}\\n');`,
            // The bare secret too, and a credential on stdout (which ends up in the parse error).
            "process.stderr.write('secret=' + process.env.SPHYR_KEY.split('.')[2] + '\\n');",
            'console.log(process.env.SPHYR_KEY); setInterval(() => {}, 1000);',
          ].join(' '),
        ],
        env: { SPHYR_KEY: credential },
      },
      { timeoutMs: 1000 },
    );
    expect(result.ok).toBe(false);
    const text = JSON.stringify(result);
    expect(text).not.toContain('S3cretValue');
    expect(result.stderrTail).toContain('sphyr.k1d_abc.***');
    expect(result.reason).toContain('stdout carried non-MCP output');
  });
});
