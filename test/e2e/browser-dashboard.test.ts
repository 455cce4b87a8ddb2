import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { launchChromium, signInWhenAsked } from '../helpers/browser.js';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

/**
 * Issue 13 items 18, 19 and 20 in a real browser: the gateway's base URL leads to sign-in and then
 * to the overview; its numbers open the filtered log; agents appear by name (id on hover) with
 * each record's kind, live updates included; a rate-limited request keeps its agent and host.
 */
const PASSWORD = 'correct horse battery staple';
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

let gw: TestGateway;
let target: TargetServer;
let browser: Browser;
let agent: GatewayClient;
let agentId: string;

beforeAll(async () => {
  target = await startTarget();
  // The gateway's clock is held still, so the five calls below fall in one rate-limit window
  // however slow this machine is.
  const clock = Date.now();
  gw = await startTestGateway(
    JSON.stringify({ unsafeAllowRanges: ['127.0.0.0/8'], rateLimits: { perAgent: 4 } }),
    { adminPassword: PASSWORD, now: () => clock },
  );
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
  agent = new GatewayClient({
    gatewayUrl: gw.gateway.url,
    credential: gw.credential,
    agent: { name: 'claude code', host: 'laptop.example' },
  });
  agentId = await agent.agentId();
  // Some traffic of every kind before anyone looks: allowed, blocked, a check, a tool call.
  const ok = await agent.relay({ method: 'GET', url: `${target.url}/echo?from=dashboard` });
  await ok.arrayBuffer();
  await agent.relay({ method: 'GET', url: 'http://169.254.169.254/latest/' }).catch(() => undefined);
  await agent.check('GET', 'http://10.0.0.1/admin');
  await agent.reportToolCall({
    tool: 'github_search',
    argsDigest: 'sha256:00',
    entropy: 2,
    outcome: 'allowed',
    reason: 'allowed',
    durationMs: 3,
  });
  // The fifth call within the second is over the per-agent limit of 4.
  const limited = await agent.relay({ method: 'GET', url: `${target.url}/echo?n=5` });
  expect(limited.status).toBe(429);
  await limited.arrayBuffer();
});

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await target?.close();
});

describe('the console as a security engineer opens it', () => {
  it('goes from the base URL to sign-in to the overview, and from its numbers into the log', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });

    // Item 18: the base URL, signed out, lands on the console's sign-in.
    await page.goto(`${gw.gateway.url}/`);
    await signInWhenAsked(page, PASSWORD, () =>
      page.screenshot({ path: path.join(ARTIFACTS, 'console-base-url-sign-in.png') }),
    );
    await page.waitForURL(/\/console$/);

    // Item 19: the overview.
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    const day = page.getByRole('region', { name: 'Requests in the last 24 hours' });
    const tile = (label: string) =>
      day.getByRole('link').filter({ hasText: new RegExp(`^\\s*[\\d,]+ ${label}\\s*$`) });
    expect(await tile('all requests').textContent()).toMatch(/^5\s+all requests$/);
    expect(await tile('blocked').textContent()).toMatch(/^2\s+blocked$/);
    expect(await tile('rate_limited').textContent()).toMatch(/^1\s+rate_limited$/);
    const hosts = page.getByRole('region', { name: 'Most-blocked hosts' });
    await hosts.getByRole('link', { name: '169.254.169.254' }).waitFor();
    const reasons = page.getByRole('region', { name: 'Top reasons' });
    await reasons.getByRole('link', { name: 'ssrf_metadata' }).waitFor();
    await reasons.getByRole('link', { name: 'rate_limited_agent' }).waitFor();
    const live = page.getByRole('region', { name: 'Live agents' });
    const name = live.getByRole('link', { name: 'claude code' });
    expect(await name.getAttribute('title')).toBe(`${agentId} on laptop.example`);
    const chain = page.getByRole('region', { name: 'Log chain' });
    await chain.getByText('Not verified yet.').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-overview.png'), fullPage: true });

    // Verify now, then the overview shows the result instead of re-checking.
    await chain.getByRole('button', { name: 'Verify now' }).click();
    await page.getByText(/Chain intact: 5 records checked/).waitFor();
    await page.getByRole('link', { name: 'Back to the overview' }).click();
    await page.waitForURL(/\/console$/);
    await chain.getByText('Intact when last verified (records 1 to 5, 5 checked).').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-overview-verified.png'), fullPage: true });

    // A number opens exactly its records; item 20: by name, with kind, id on hover.
    await tile('blocked').click();
    await page.waitForURL(/\/console\/log\?outcome=blocked&from=/);
    const rows = page.locator('#log-rows tr');
    expect(await rows.count()).toBe(2);
    const blockedRow = rows.filter({ hasText: '169.254.169.254' });
    expect(await blockedRow.locator('td').nth(2).textContent()).toBe('relay');
    const checkRow = rows.filter({ hasText: '10.0.0.1' });
    expect(await checkRow.locator('td').nth(2).textContent()).toBe('check');
    const agentLink = blockedRow.getByRole('link', { name: 'claude code' });
    expect(await agentLink.getAttribute('title')).toBe(`${agentId} on laptop.example`);
    await agentLink.hover();
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-log-by-name.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('shows every kind of record by agent name, live updates included, and filters by the name', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${gw.gateway.url}/console/log`);
    await signInWhenAsked(page, PASSWORD);
    await page.waitForURL(/\/console\/log$/);
    await page.getByText('Live: new records appear here.').waitFor();
    const rows = page.locator('#log-rows tr');
    const kinds = await rows.evaluateAll((trs) => trs.map((tr) => tr.children[2]?.textContent));
    expect(kinds).toEqual(['relay', 'tool', 'check', 'relay', 'relay']);
    // The rate-limited relay keeps its agent and host.
    const limited = rows.filter({ hasText: 'rate_limited_agent' });
    await limited.getByRole('link', { name: 'claude code' }).waitFor();
    expect(await limited.textContent()).toContain(new URL(target.url).host);
    await rows.filter({ hasText: 'github_search' }).getByRole('link', { name: 'claude code' }).waitFor();

    // A record that arrives while the page is open comes in by name too (another agent: under its limit).
    const other = new GatewayClient({
      gatewayUrl: gw.gateway.url,
      credential: gw.credential,
      agent: { name: 'cursor' },
    });
    const res = await other.relay({ method: 'GET', url: `${target.url}/echo?live=1` });
    await res.arrayBuffer();
    const fresh = page.locator('#log-rows tr.new');
    await fresh.first().waitFor({ timeout: 15_000 });
    expect(await fresh.first().locator('td').nth(2).textContent()).toBe('relay');
    const cursor = fresh.first().getByRole('link', { name: 'cursor' });
    expect(await cursor.getAttribute('title')).toMatch(/^agt_[A-Za-z0-9_-]+ on /);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-log-live-names.png'), fullPage: true });

    // Filter by the name typed into the form.
    await page.getByLabel('Agent', { exact: true }).fill('claude code');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/agent=claude\+code/);
    expect(await rows.count()).toBe(5);
    expect(await rows.filter({ hasText: 'cursor' }).count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-log-filtered-by-name.png'), fullPage: true });

    // The record's own page: name, id, runtime and machine.
    await rows
      .first()
      .getByRole('link', { name: /^Record \d+ details$/ })
      .click();
    const agentRow = page.getByRole('row', { name: /^Agent / });
    expect(await agentRow.textContent()).toContain(`claude code (${agentId})`);

    await page.goto(`${gw.gateway.url}/console/agents`);
    await page.getByRole('link', { name: 'claude code' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-agents-by-name.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
