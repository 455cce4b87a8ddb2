import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/sdk/webhook.js';
import { launchChromium, signInWhenAsked } from '../helpers/browser.js';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const PASSWORD = 'correct horse battery staple';
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

interface Delivery {
  body: string;
  signature: string;
  webhookId: string;
}

let gw: TestGateway;
let browser: Browser;
let receiver: http.Server;
let receiverUrl: string;
const deliveries: Delivery[] = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({
        body: Buffer.concat(chunks).toString('utf8'),
        signature: String(req.headers['x-sphyr-signature'] ?? ''),
        webhookId: String(req.headers['webhook-id'] ?? ''),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/sphyr`;
  gw = await startTestGateway('{"unsafeAllowRanges": ["127.0.0.0/8"]}', {
    adminPassword: PASSWORD,
    webhooks: { pollIntervalMs: 50 },
  });
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await new Promise((r) => receiver?.close(r));
});

async function nextDelivery(after: number): Promise<Delivery> {
  for (let i = 0; i < 200; i += 1) {
    const d = deliveries[after];
    if (d) return d;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no webhook delivery arrived');
}

/** Create a key in the console: a key.created event, delivered to the webhook. */
async function createKey(page: Page, name: string): Promise<void> {
  await page.goto(`${gw.gateway.url}/console/keys`);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.getByLabel('Credential').waitFor({ state: 'visible' });
}

describe('webhooks in a real browser', () => {
  it('creates a webhook, receives a signed delivery, rotates, and the old secret then fails', async () => {
    const page = await browser.newPage();
    await page.goto(`${gw.gateway.url}/console/webhooks`);
    await signInWhenAsked(page, PASSWORD);
    await page.waitForURL(/\/console\/webhooks$/);

    await page.getByLabel('URL').fill(receiverUrl);
    await page.getByRole('checkbox', { name: 'key.created' }).check();
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-webhooks-new.png'), fullPage: true });
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const oldSecret = await page.locator('#secret').inputValue();
    expect(oldSecret).toMatch(/^[0-9a-f]{64}$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-webhook-secret.png') });
    // Shown once: the list does not carry it.
    await page.goto(`${gw.gateway.url}/console/webhooks`);
    expect(await page.content()).not.toContain(oldSecret);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-webhooks.png'), fullPage: true });

    await createKey(page, 'webhook-test-1');
    const first = await nextDelivery(0);
    expect(JSON.parse(first.body)).toMatchObject({ type: 'key.created', data: { name: 'webhook-test-1' } });
    expect(verifyWebhook(first.body, first.signature, oldSecret)).toBe(true);

    await page.goto(`${gw.gateway.url}/console/webhooks`);
    await page.getByRole('button', { name: /^Rotate the secret of/ }).click();
    const newSecret = await page.locator('#secret').inputValue();
    expect(newSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(newSecret).not.toBe(oldSecret);

    await createKey(page, 'webhook-test-2');
    const second = await nextDelivery(1);
    expect(JSON.parse(second.body)).toMatchObject({ type: 'key.created', data: { name: 'webhook-test-2' } });
    expect(verifyWebhook(second.body, second.signature, oldSecret)).toBe(false);
    expect(verifyWebhook(second.body, second.signature, newSecret)).toBe(true);
    expect(new Set(deliveries.map((d) => d.webhookId)).size).toBe(deliveries.length);
  }, 90_000);
});

describe('the webhook form', () => {
  // Issue 13 item 23: each event checkbox sits on the same line as its label, right before it, at
  // desktop, tablet and phone widths (a checkbox must never wrap away from the words it ticks).
  it.each([
    [1280, 900],
    [720, 900],
    [360, 740],
  ])(
    'puts every event checkbox beside its label at %ix%i',
    async (width, height) => {
      const page = await browser.newPage({ viewport: { width, height } });
      await page.goto(`${gw.gateway.url}/console/webhooks`);
      if (page.url().includes('/console/login')) {
        await signInWhenAsked(page, PASSWORD);
        await page.waitForURL(/\/console\/webhooks$/);
      }
      const boxes = page.getByRole('group', { name: 'Events' }).getByRole('checkbox');
      const count = await boxes.count();
      expect(count).toBeGreaterThanOrEqual(6);
      await page.screenshot({
        path: path.join(ARTIFACTS, `console-webhook-events-${width}.png`),
        fullPage: true,
      });
      const lines: number[] = [];
      for (let i = 0; i < count; i += 1) {
        const box = boxes.nth(i);
        const name = (await box.getAttribute('value')) ?? '';
        // The accessible name comes from the label: a checkbox and its words belong together.
        await page.getByRole('checkbox', { name, exact: true }).waitFor();
        const label = box.locator('xpath=ancestor::label[1]').getByText(name, { exact: true });
        const b = await box.boundingBox();
        const t = await label.boundingBox();
        if (!b || !t) throw new Error(`no layout for ${name}`);
        const gap = t.x - (b.x + b.width);
        expect(Math.abs(b.y + b.height / 2 - (t.y + t.height / 2)), `${name}: same line`).toBeLessThan(6);
        expect(gap, `${name}: the label follows the box closely`).toBeGreaterThanOrEqual(0);
        expect(gap, `${name}: the label follows the box closely`).toBeLessThan(16);
        lines.push(Math.round(b.y));
      }
      // One event per line: a list that reads top to bottom, not a paragraph that wraps anywhere.
      expect(new Set(lines).size).toBe(count);
      // Neither the form nor the header's links run off the side of a narrow screen.
      for (const part of [page.locator('header'), page.locator('form[action="/console/webhooks"]')]) {
        const right = await part.evaluate((e) => Math.max(e.scrollWidth, e.getBoundingClientRect().right));
        expect(right).toBeLessThanOrEqual(width);
      }
      await page.close();
    },
    60_000,
  );
});
