import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { parseCredential } from '../../src/config/credential.js';
import { approveGrant, denyGrant, findGrantForApproval } from '../../src/gateway/oauth/device-grants.js';
import { runCli, SPHYR_BIN } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway('{}', { adminPassword: 'correct horse battery staple' });
});
afterAll(async () => {
  await gw?.close();
});

const env = (home: string) => ({ HOME: home, SPHYR_CREDENTIAL: '', SPHYR_GATEWAY_URL: '', CI: 'true' });
/** The device-grant service needs only the store and a clock. */
const ctx = () =>
  ({ store: gw.gateway.store, now: Date.now }) as unknown as Parameters<typeof approveGrant>[0];

/** Spawn `sphyr login`, resolve the user code from its stderr, and let the test decide. */
function startLogin(home: string) {
  const child = spawn(process.execPath, [SPHYR_BIN, 'login', '--no-browser', '--gateway', gw.gateway.url], {
    env: { ...process.env, ...env(home) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  const code = new Promise<string>((resolve) => {
    child.stderr.on('data', (c) => {
      stderr += c;
      const m = stderr.match(/\b([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})\b/);
      if (m) resolve(m[1] as string);
    });
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, code, exit, output: () => ({ stderr, stdout }) };
}

describe('sphyr login / whoami / logout', () => {
  it('device flow: prints the code, waits, and saves the approved credential (0600); it then works', async () => {
    const home = await tempDir('sphyr-login-');
    const login = startLogin(home);
    const userCode = await login.code;
    expect(login.output().stderr).toContain(`${gw.gateway.url}/device`);
    const grant = await findGrantForApproval(ctx(), userCode);
    expect(grant?.status).toBe('pending');
    await approveGrant(ctx(), grant as NonNullable<typeof grant>, 'admin-test');
    expect(await login.exit).toBe(0);
    const file = path.join(home, '.sphyr', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(file, 'utf8')) as { gateway: string; credential: string };
    expect(saved.gateway).toBe(gw.gateway.url);
    const credential = parseCredential(saved.credential, 'test');
    expect(login.output().stderr).toContain(`as key ${credential.keyId}`);
    // The secret never reaches the terminal.
    expect(login.output().stderr + login.output().stdout).not.toContain(saved.credential.split('.')[2]);
    const who = await runCli(['whoami', '--json'], env(home));
    expect(JSON.parse(who.stdout)).toMatchObject({ gateway: gw.gateway.url, keyId: credential.keyId });
  }, 60_000);

  it('device flow: a denial ends the login with a clear message and no file', async () => {
    const home = await tempDir('sphyr-login-');
    const login = startLogin(home);
    const grant = await findGrantForApproval(ctx(), await login.code);
    await denyGrant(ctx(), grant as NonNullable<typeof grant>, 'admin-test');
    expect(await login.exit).not.toBe(0);
    expect(login.output().stderr).toMatch(/denied/);
    await expect(stat(path.join(home, '.sphyr', 'config.json'))).rejects.toThrow();
  }, 60_000);

  it('on a terminal it shows a spinner and offers sphyr guard init after the login', async () => {
    const home = await tempDir('sphyr-login-');
    const command = [process.execPath, SPHYR_BIN, 'login', '--no-browser', '--gateway', gw.gateway.url]
      .map((a) => `'${a}'`)
      .join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', HOME: home, TERM: 'dumb' },
    });
    let output = '';
    let approved = false;
    let answered = false;
    const onData = async (chunk: Buffer) => {
      output += chunk.toString();
      const m = output.match(/\b([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})\b/);
      if (m && !approved) {
        approved = true;
        const grant = await findGrantForApproval(ctx(), m[1] as string);
        await approveGrant(ctx(), grant as NonNullable<typeof grant>, 'admin-test');
      }
      if (!answered && output.includes('(sphyr guard init)? [Y/n]')) {
        answered = true;
        child.stdin.write('n\n');
      }
    };
    child.stdout.on('data', onData);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(output).toContain('waiting for approval');
    expect(output).toContain('Configure sphyr-mcp in your IDEs now (sphyr guard init)? [Y/n]');
    expect(output).toContain('Next: run `sphyr guard init`');
  }, 60_000);

  it('--with-token checks the credential at the gateway, then saves it; logout revokes it', async () => {
    const home = await tempDir('sphyr-login-');
    const credential = gw.credential.reveal();
    const result = await runCli(
      ['login', '--with-token', '--gateway', gw.gateway.url],
      env(home),
      `${credential}\n`,
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`as key ${gw.credential.keyId}`);
    expect(result.stderr + result.stdout).not.toContain(credential);
    const out = await runCli(['logout'], env(home));
    expect(out.code).toBe(0);
    expect(out.stderr).toContain(`Key ${gw.credential.keyId} is revoked`);
    await expect(stat(path.join(home, '.sphyr', 'config.json'))).rejects.toThrow();
    const client = new GatewayClient({
      gatewayUrl: gw.gateway.url,
      credential: gw.credential,
      agent: { name: 't' },
    });
    await expect(client.whoami()).rejects.toMatchObject({ code: 'key_revoked' });
  });

  it('--with-token refuses garbage and a credential the gateway does not know, writing nothing', async () => {
    const home = await tempDir('sphyr-login-');
    const garbage = await runCli(
      ['login', '--with-token', '--gateway', gw.gateway.url],
      env(home),
      'not-a-credential\n',
    );
    expect(garbage.code).not.toBe(0);
    expect(garbage.stderr).toMatch(/standard input/);
    const unknown = await runCli(
      ['login', '--with-token', '--gateway', gw.gateway.url],
      env(home),
      'sphyr.k_nobody.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n',
    );
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no key with this id/);
    await expect(stat(path.join(home, '.sphyr', 'config.json'))).rejects.toThrow();
  });
});
