import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { parseCredential } from '../../src/config/credential.js';
import { launchChromium, signInWhenAsked } from '../helpers/browser.js';
import { ROOT, SPHYR_BIN } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const PASSWORD = 'correct horse battery staple';
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

let gw: TestGateway;
let target: TargetServer;
let browser: Browser;

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway('{"unsafeAllowRanges": ["127.0.0.0/8"]}', { adminPassword: PASSWORD });
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await target?.close();
});

describe('sphyr login approved in a real browser', () => {
  it('signs in to the console, confirms the code a spawned `sphyr login` polls for, and the saved credential relays', async () => {
    const home = await tempDir('sphyr-browser-login-');
    const login = spawn(process.execPath, [SPHYR_BIN, 'login', '--no-browser', '--gateway', gw.gateway.url], {
      env: { ...process.env, HOME: home, SPHYR_CREDENTIAL: '', SPHYR_GATEWAY_URL: '', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const link = await new Promise<string>((resolve, reject) => {
      login.stderr.on('data', (c) => {
        stderr += c;
        const m = stderr.match(/Or open (\S+user_code=\S+)/);
        if (m) resolve(m[1] as string);
      });
      login.once('close', (code) => reject(new Error(`sphyr login exited ${code}: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => login.on('close', resolve));

    const page = await browser.newPage();
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    // The link from the terminal: not signed in yet, so the console asks first and comes back.
    await page.goto(link);
    await signInWhenAsked(page, PASSWORD, () =>
      page.screenshot({ path: path.join(ARTIFACTS, 'console-login.png') }),
    );
    await page.waitForLoadState();
    await page.screenshot({ path: path.join(ARTIFACTS, 'after-sign-in.png') });
    // Confirmation is asked even though the code came in the link.
    const userCode = new URL(link).searchParams.get('user_code') as string;
    await page.getByText(userCode).first().waitFor({ state: 'visible' });
    await page.getByText('sphyr-cli').first().waitFor({ state: 'visible' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'device-approval.png') });
    await page.getByRole('button', { name: 'Approve' }).click();
    await page
      .getByText(/approved/i)
      .first()
      .waitFor({ state: 'visible' });

    expect(await exited).toBe(0);
    const saved = JSON.parse(await readFile(path.join(home, '.sphyr', 'config.json'), 'utf8')) as {
      gateway: string;
      credential: string;
    };
    const credential = parseCredential(saved.credential, 'saved config');
    // The secret is in the token response only: not in the page, not on the terminal.
    const secret = saved.credential.split('.')[2] as string;
    expect(await page.content()).not.toContain(secret);
    expect(stderr).not.toContain(secret);
    // …nor in any URL the browser loaded, nor in anything the gateway logged.
    expect(urls.length).toBeGreaterThan(3);
    expect(urls.join('\n')).not.toContain(secret);
    expect(gw.warnings.join('\n')).not.toContain(secret);
    await page.goto(`${gw.gateway.url}/console/keys`);
    await page.getByText(credential.keyId).first().waitFor({ state: 'visible' });
    expect(await page.content()).not.toContain(secret);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-keys.png'), fullPage: true });

    const client = new GatewayClient({
      gatewayUrl: saved.gateway,
      credential,
      agent: { name: 'browser-login' },
    });
    const res = await client.relay({ method: 'GET', url: `${target.url}/echo?via=browser-login` });
    expect(res.status).toBe(200);
    expect(res.headers.get('sphyr-outcome')).toBe('allowed');
    const [record] = await gw.gateway.store.query({ limit: 1 });
    expect(record).toMatchObject({ kind: 'relay', keyId: credential.keyId, outcome: 'allowed' });
  }, 90_000);
});
