import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, signInWhenAsked } from '../helpers/browser.js';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
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

describe('the request log in a real browser', () => {
  it('shows a signed request live, filters, opens its detail, and tests a URL', async () => {
    const client = gw.client('browser-agent');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${gw.gateway.url}/console/log`);
    await signInWhenAsked(page, PASSWORD);
    await page.waitForURL(/\/console\/log$/);
    await page.getByText('Live: new records appear here.').waitFor({ state: 'visible' });

    // A blocked request first, then an allowed one, while the page is open: live updates add both.
    await client.relay({ method: 'GET', url: 'http://169.254.169.254/latest/' }).catch(() => undefined);
    const res = await client.relay({ method: 'GET', url: `${target.url}/echo?from=browser` });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const host = new URL(target.url).host;
    const rows = page.locator('#log-rows tr');
    await rows.filter({ hasText: host }).first().waitFor({ state: 'visible', timeout: 15_000 });
    await rows.filter({ hasText: '169.254.169.254' }).first().waitFor({ state: 'visible' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-log.png'), fullPage: true });

    // Filter by outcome with the plain GET form.
    await page.getByLabel('Outcome', { exact: true }).selectOption('blocked');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/outcome=blocked/);
    await rows.filter({ hasText: '169.254.169.254' }).first().waitFor({ state: 'visible' });
    expect(await rows.filter({ hasText: host }).count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-log-blocked.png'), fullPage: true });

    // Open the allowed record's detail from the unfiltered log.
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.waitForURL(/\/console\/log$/);
    await rows
      .filter({ hasText: host })
      .first()
      .getByRole('link', { name: /^Record \d+ details$/ })
      .click();
    await page.waitForURL(/\/console\/log\/\d+$/);
    await page.getByRole('heading', { name: /^Record \d+$/ }).waitFor({ state: 'visible' });
    await page.getByRole('rowheader', { name: 'Signature' }).waitFor({ state: 'visible' });
    expect(await page.content()).toContain(host);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-log-detail.png'), fullPage: true });
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/Chain intact: \d+ records checked/).waitFor({ state: 'visible' });

    // Test a URL on the policy page.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policy' }).click();
    await page.waitForURL(/\/console\/policy$/);
    await page.getByLabel('URL', { exact: true }).fill('http://169.254.169.254/latest/meta-data/');
    await page.getByRole('button', { name: 'Test' }).click();
    await page.getByText('Verdict: block').waitFor({ state: 'visible' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-policy.png'), fullPage: true });

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click();
    await page.getByText('browser-agent').first().waitFor({ state: 'visible' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-agents.png'), fullPage: true });

    // No CSP violations or script errors on the way.
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
