import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../src/gateway/server.js';
import { parseRetryAfter } from '../../src/gateway/webhooks/dispatcher.js';
import {
  sphyrSignature,
  standardSignature,
  standardWebhooksSecret,
} from '../../src/gateway/webhooks/signing.js';
import { parsePolicy } from '../../src/policy/index.js';
import { verifyWebhook } from '../../src/sdk/webhook.js';
import { CONSOLE_PASSWORD, ConsoleBrowser, csrfOf, signIn } from '../helpers/console-browser.js';
import { LOOPBACK_TEST_POLICY, startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';

const PASSWORD = CONSOLE_PASSWORD;

// ---------------------------------------------------------------- helpers

interface Console {
  browser: ConsoleBrowser;
  csrf: string;
  api(method: string, urlPath: string, body?: unknown): Promise<Response>;
}

async function signedIn(th: TestGateway): Promise<Console> {
  const browser = new ConsoleBrowser(th.gateway.url);
  expect((await signIn(browser)).status).toBe(303);
  const session = await browser.get('/v1/console/session');
  const { csrfToken } = (await session.json()) as { csrfToken: string };
  return {
    browser,
    csrf: csrfToken,
    api: (method, urlPath, body) =>
      browser.request(method, urlPath, {
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(method === 'GET' ? {} : { 'x-csrf-token': csrfToken }),
        },
      }),
  };
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  path: string;
  answered: number;
}

type Behaviour = (r: Received, n: number) => { status: number; headers?: Record<string, string> };

/** A local webhook receiver; `behave` decides each answer (default 204). */
async function receiver(behave: Behaviour = () => ({ status: 204 }), port = 0) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        path: req.url ?? '',
        answered: 0,
      };
      const answer = behave(r, got.length);
      r.answered = answer.status;
      got.push(r);
      res.writeHead(answer.status, answer.headers).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    got,
    port: address.port,
    url: `http://127.0.0.1:${address.port}/hook`,
    /** Successful receipts per webhook-id. */
    delivered(eventId: string) {
      return got.filter((r) => r.headers['webhook-id'] === eventId && r.answered < 300).length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** The seed's Python verifier, verbatim, run by python3 on the exact bytes received. */
const PYTHON_VERIFIER = `import hmac, hashlib

def verify_sphyr_webhook(payload_bytes: bytes, received_signature: str, secret: str) -> bool:
    expected = hmac.new(secret.encode(), payload_bytes, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received_signature)
`;

let scratch: string;

async function pythonVerifies(body: string, signature: string, secret: string): Promise<boolean> {
  const dir = await mkdtemp(path.join(scratch, 'py-'));
  await writeFile(path.join(dir, 'body'), body, 'utf8');
  await writeFile(path.join(dir, 'sig'), signature, 'utf8');
  await writeFile(path.join(dir, 'secret'), secret, 'utf8');
  const script = `${PYTHON_VERIFIER}
import sys
d = sys.argv[1]
payload = open(d + '/body', 'rb').read()
sig = open(d + '/sig').read()
secret = open(d + '/secret').read()
print(verify_sphyr_webhook(payload, sig, secret))
`;
  const out = execFileSync('python3', ['-c', script, dir], { encoding: 'utf8' }).trim();
  return out === 'True';
}

function standardVerifies(r: Received, whsec: string): boolean {
  try {
    new Webhook(whsec).verify(r.body, {
      'webhook-id': String(r.headers['webhook-id']),
      'webhook-timestamp': String(r.headers['webhook-timestamp']),
      'webhook-signature': String(r.headers['webhook-signature']),
    });
    return true;
  } catch {
    return false;
  }
}

interface Created {
  webhook: { id: string; url: string; events: string[]; disabled: boolean };
  secret: string;
  standardWebhooksSecret: string;
}

async function createHook(c: Console, url: string, events = ['key.created']): Promise<Created> {
  const res = await c.api('POST', '/v1/console/webhooks', { url, events });
  expect(res.status).toBe(201);
  return (await res.json()) as Created;
}

/** Create a key through the console API: emits key.created; returns the key id. */
async function createKey(c: Console): Promise<string> {
  const res = await c.api('POST', '/v1/console/keys', { name: 'webhook test' });
  expect(res.status).toBe(201);
  return ((await res.json()) as { key: { id: string } }).key.id;
}

function eventOf(r: Received): { id: string; type: string; time: string; data: Record<string, unknown> } {
  return JSON.parse(r.body);
}

async function deliveries(c: Console, id: string) {
  const res = await c.api('GET', `/v1/console/webhooks/${id}/deliveries`);
  expect(res.status).toBe(200);
  return (
    (await res.json()) as {
      deliveries: Array<{
        eventId: string;
        status: string;
        attempts: number;
        lastStatusCode: number | null;
        lastError: string | null;
      }>;
    }
  ).deliveries;
}

// ---------------------------------------------------------------- unit

describe('webhook signatures', () => {
  const secret = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join('');
  const body = '{"type":"policy.blocked","id":"evt_01J9Z3"}';
  const expected = '9be5a7c3fbb989fafd4bbef18244c7e8933551d1b0f411254f9e780c5e5df1da';

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'sphyr-wh-'));
  });

  it('matches the DESIGN §3.9 vector, the seed Python verifier and verifyWebhook', async () => {
    expect(sphyrSignature(Buffer.from(secret, 'ascii'), body)).toBe(expected);
    expect(verifyWebhook(body, expected, secret)).toBe(true);
    expect(await pythonVerifies(body, expected, secret)).toBe(true);
    expect(await pythonVerifies(body, expected.replace(/^9/, '8'), secret)).toBe(false);
  });

  it('whsec_ form is the base64 of the secret ASCII bytes and standardwebhooks accepts it', () => {
    const whsec = standardWebhooksSecret(secret);
    expect(whsec).toBe(`whsec_${Buffer.from(secret).toString('base64')}`);
    const ts = Math.floor(Date.now() / 1000);
    const signature = standardSignature(Buffer.from(secret, 'ascii'), 'evt_1', ts, body);
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const headers = {
      'webhook-id': 'evt_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': signature,
    };
    expect(new Webhook(whsec).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(secret, { format: 'raw' }).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(standardWebhooksSecret('f'.repeat(64))).verify(body, headers)).toThrow();
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});

// ---------------------------------------------------------------- through a real gateway

describe('webhooks through a real gateway', () => {
  let th: TestGateway;
  let c: Console;
  const receivers: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    scratch ??= await mkdtemp(path.join(os.tmpdir(), 'sphyr-wh-'));
    th = await startTestGateway(undefined, {
      adminPassword: PASSWORD,
      webhooks: {
        retryScheduleMs: [40, 80, 160, 320, 640],
        jitter: 0,
        pollIntervalMs: 10,
        timeoutMs: 2000,
        disableAfterFailures: 100,
      },
    });
    c = await signedIn(th);
  });

  afterEach(async () => {
    const list = (await (await c.api('GET', '/v1/console/webhooks')).json()) as {
      webhooks: Array<{ id: string }>;
    };
    for (const hook of list.webhooks) await c.api('DELETE', `/v1/console/webhooks/${hook.id}`);
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  afterAll(async () => {
    await th?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  async function track<T extends { close(): Promise<void> }>(r: Promise<T>): Promise<T> {
    const value = await r;
    receivers.push(value);
    return value;
  }

  it('shows the secret once and delivers a key.created event that all three verifiers accept', async () => {
    const rx = await track(receiver());
    const created = await createHook(c, rx.url);
    expect(created.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(created.standardWebhooksSecret).toBe(standardWebhooksSecret(created.secret));
    expect(created.webhook).toMatchObject({ url: rx.url, events: ['key.created'], disabled: false });

    const listText = await (await c.api('GET', '/v1/console/webhooks')).text();
    expect(listText).toContain(created.webhook.id);
    expect(listText).not.toContain(created.secret);
    expect(listText).not.toContain('secret');

    const keyId = await createKey(c);
    const r = await waitFor(() => rx.got.find((g) => eventOf(g).data.keyId === keyId));
    const event = eventOf(r);
    expect(event).toMatchObject({ type: 'key.created', data: { keyId } });
    expect(event.id).toMatch(/^evt_/);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['user-agent']).toBe('Sphyr-Webhooks/1');
    expect(r.headers['webhook-id']).toBe(event.id);
    expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    const signature = String(r.headers['x-sphyr-signature']);
    expect(signature).toMatch(/^[0-9a-f]{64}$/);

    // (a) the seed's Python verifier, (b) standardwebhooks, (c) our verifyWebhook.
    expect(await pythonVerifies(r.body, signature, created.secret)).toBe(true);
    expect(standardVerifies(r, created.standardWebhooksSecret)).toBe(true);
    expect(verifyWebhook(r.body, signature, created.secret)).toBe(true);
    // A tampered body fails all three.
    const tampered = r.body.replace('key.created', 'key.revoked');
    expect(await pythonVerifies(tampered, signature, created.secret)).toBe(false);
    expect(standardVerifies({ ...r, body: tampered }, created.standardWebhooksSecret)).toBe(false);
    expect(verifyWebhook(tampered, signature, created.secret)).toBe(false);

    const list = await waitFor(async () => {
      const d = await deliveries(c, created.webhook.id);
      return d[0]?.status === 'delivered' ? d : undefined;
    });
    expect(list[0]).toMatchObject({ eventId: event.id, attempts: 1, lastStatusCode: 204, lastError: null });
  });

  it('delivers a request.blocked event from a blocked relay', async () => {
    const rx = await track(receiver());
    await createHook(c, rx.url, ['request.blocked']);
    await expect(
      th.client().relay({ method: 'GET', url: 'http://169.254.169.254/latest/meta-data/' }),
    ).rejects.toThrow();
    const r = await waitFor(() => rx.got.find((g) => eventOf(g).type === 'request.blocked'));
    expect(eventOf(r).data).toMatchObject({ host: '169.254.169.254' });
    // Only the subscribed type arrives.
    await createKey(c);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(rx.got.every((g) => eventOf(g).type === 'request.blocked')).toBe(true);
  });

  it('retries 503s and a refused connection, and delivers exactly once per event id', async () => {
    const rx = await track(receiver((_r, n) => (n < 2 ? { status: 503 } : { status: 200 })));
    await createHook(c, rx.url);
    const keyId = await createKey(c);
    const first = await waitFor(() => rx.got.find((g) => eventOf(g).data.keyId === keyId));
    const eventId = String(first.headers['webhook-id']);
    await waitFor(() => rx.delivered(eventId) === 1 || undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const mine = rx.got.filter((g) => g.headers['webhook-id'] === eventId);
    expect(mine.map((g) => g.answered)).toEqual([503, 503, 200]);
    expect(new Set(mine.map((g) => g.body)).size).toBe(1);
    expect(rx.delivered(eventId)).toBe(1);

    // Connection refused: a port with nothing listening, then a receiver appears on it.
    const probe = await receiver();
    const port = probe.port;
    await probe.close();
    const down = await createHook(c, `http://127.0.0.1:${port}/hook`);
    const key2 = await createKey(c);
    const failing = await waitFor(async () => {
      const d = await deliveries(c, down.webhook.id);
      return d[0] && d[0].attempts >= 2 ? d[0] : undefined;
    });
    expect(failing.status).toBe('failed');
    expect(failing.lastError).toMatch(/ECONNREFUSED/);
    const up = await track(receiver(() => ({ status: 200 }), port));
    const got = await waitFor(() => up.got.find((g) => eventOf(g).data.keyId === key2), 3000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(up.delivered(String(got.headers['webhook-id']))).toBe(1);
    const done = await deliveries(c, down.webhook.id);
    expect(done[0]).toMatchObject({ status: 'delivered', lastStatusCode: 200 });
    expect(done[0]?.attempts).toBeGreaterThanOrEqual(3);
  });

  it('honours Retry-After on 429', async () => {
    const rx = await track(
      receiver((_r, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 })),
    );
    await createHook(c, rx.url);
    await createKey(c);
    await waitFor(() => (rx.got.length >= 2 ? true : undefined), 4000);
    const [a, b] = rx.got;
    expect(a?.answered).toBe(429);
    expect((b?.at ?? 0) - (a?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('never follows a redirect and counts it as a failure', async () => {
    const target = await track(receiver());
    const rx = await track(receiver(() => ({ status: 302, headers: { location: target.url } })));
    const hook = await createHook(c, rx.url);
    await createKey(c);
    const failed = await waitFor(async () => {
      const d = await deliveries(c, hook.webhook.id);
      return d[0] && d[0].attempts >= 2 ? d[0] : undefined;
    });
    expect(failed.lastStatusCode).toBe(302);
    expect(failed.lastError).toMatch(/redirect not followed/);
    expect(failed.status).not.toBe('delivered');
    expect(target.got).toHaveLength(0);
  });

  it('refuses metadata, non-http and userinfo URLs at creation', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://[::ffff:169.254.169.254]/',
      'http://10.0.0.1/hook',
      `${th.gateway.url}/v1/console/webhooks`,
    ]) {
      const res = await c.api('POST', '/v1/console/webhooks', { url, events: ['key.created'] });
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('webhook_url_blocked');
    }
    for (const url of ['ftp://example.com/x', 'http://user:pw@example.com/x', 'not a url']) {
      const res = await c.api('POST', '/v1/console/webhooks', { url, events: ['key.created'] });
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_url');
    }
    const bad = await c.api('POST', '/v1/console/webhooks', {
      url: 'http://127.0.0.1:9/x',
      events: ['nope'],
    });
    expect(bad.status).toBe(400);
    const none = await c.api('GET', '/v1/console/webhooks');
    expect(((await none.json()) as { webhooks: unknown[] }).webhooks).toHaveLength(0);
  });

  it('disables a webhook whose delivery exhausts its retries, shows why, and re-enables it', async () => {
    const rx = await track(receiver(() => ({ status: 500 })));
    const hook = await createHook(c, rx.url);
    await createKey(c);
    const disabled = await waitFor(async () => {
      const list = (await (await c.api('GET', '/v1/console/webhooks')).json()) as {
        webhooks: Array<{ id: string; disabled: boolean; disabledReason: string | null }>;
      };
      const mine = list.webhooks.find((w) => w.id === hook.webhook.id);
      return mine?.disabled ? mine : undefined;
    }, 5000);
    expect(disabled.disabledReason).toMatch(/failed 6 times.*HTTP 500/);
    expect(rx.got).toHaveLength(6);
    const d = await deliveries(c, hook.webhook.id);
    expect(d[0]).toMatchObject({ status: 'dead', attempts: 6, lastStatusCode: 500 });

    const page = await c.browser.get('/console/webhooks');
    const html = await page.text();
    expect(html).toContain('Disabled');
    expect(html).toContain('failed 6 times');

    // Disabled: new events are not queued for it.
    await createKey(c);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(rx.got).toHaveLength(6);

    const enabled = await c.api('POST', `/v1/console/webhooks/${hook.webhook.id}/enable`);
    expect(enabled.status).toBe(200);
    expect(((await enabled.json()) as { webhook: { disabled: boolean } }).webhook.disabled).toBe(false);
  });

  it('rotation: the old secret stops verifying the next delivery and the new one verifies it', async () => {
    const rx = await track(receiver());
    const created = await createHook(c, rx.url);
    const rotated = await c.api('POST', `/v1/console/webhooks/${created.webhook.id}/rotate`);
    expect(rotated.status).toBe(200);
    const fresh = (await rotated.json()) as Created;
    expect(fresh.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(fresh.secret).not.toBe(created.secret);
    expect(fresh.standardWebhooksSecret).toBe(standardWebhooksSecret(fresh.secret));

    const keyId = await createKey(c);
    const r = await waitFor(() => rx.got.find((g) => eventOf(g).data.keyId === keyId));
    const signature = String(r.headers['x-sphyr-signature']);
    expect(await pythonVerifies(r.body, signature, created.secret)).toBe(false);
    expect(standardVerifies(r, created.standardWebhooksSecret)).toBe(false);
    expect(verifyWebhook(r.body, signature, created.secret)).toBe(false);
    expect(await pythonVerifies(r.body, signature, fresh.secret)).toBe(true);
    expect(standardVerifies(r, fresh.standardWebhooksSecret)).toBe(true);
    expect(verifyWebhook(r.body, signature, fresh.secret)).toBe(true);
  });

  it('console pages: create form shows the secret once (no-store), deliveries page, rotate, csrf checked', async () => {
    const rx = await track(receiver());
    const list = await c.browser.get('/console/webhooks');
    expect(list.status).toBe(200);
    const csrf = csrfOf(await list.text());

    const refused = await c.browser.post('/console/webhooks', { url: rx.url, events: 'key.created' });
    expect(refused.status).toBe(403);

    const created = await c.browser.post('/console/webhooks', {
      _csrf: csrf,
      url: rx.url,
      events: ['key.created', 'key.revoked'],
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const html = await created.text();
    const secret = /id="secret"[^>]*value="([0-9a-f]{64})"/.exec(html)?.[1];
    expect(secret).toBeDefined();
    expect(html).toContain(standardWebhooksSecret(secret ?? ''));
    const id = /<code>(wh_[A-Za-z0-9_-]+)<\/code>/.exec(html)?.[1] ?? '';

    const again = await (await c.browser.get('/console/webhooks')).text();
    expect(again).toContain(id);
    expect(again).not.toContain(secret);

    const blocked = await c.browser.post('/console/webhooks', {
      _csrf: csrf,
      url: 'http://169.254.169.254/',
      events: 'key.created',
    });
    expect(blocked.status).toBe(400);
    expect(await blocked.text()).toContain('ssrf_');

    await createKey(c);
    await waitFor(() => rx.got[0]);
    const page = await c.browser.get(`/console/webhooks/${id}/deliveries`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/key\.created/);

    const rotated = await c.browser.post(`/console/webhooks/${id}/rotate`, { _csrf: csrf });
    expect(rotated.status).toBe(200);
    const newSecret = /id="secret"[^>]*value="([0-9a-f]{64})"/.exec(await rotated.text())?.[1];
    expect(newSecret).toBeDefined();
    expect(newSecret).not.toBe(secret);

    const deleted = await c.browser.post(`/console/webhooks/${id}/delete`, { _csrf: csrf });
    expect(deleted.status).toBe(303);
    expect((await c.api('GET', `/v1/console/webhooks/${id}`)).status).toBe(404);
  });

  it('the API needs a session and the CSRF header', async () => {
    const anon = await fetch(`${th.gateway.url}/v1/console/webhooks`);
    expect(anon.status).toBe(401);
    const noCsrf = await c.browser.request('POST', '/v1/console/webhooks', {
      body: JSON.stringify({ url: 'http://127.0.0.1:9/x', events: ['key.created'] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(noCsrf.status).toBe(403);
  });
});

describe('consecutive failures', () => {
  it('disable a webhook after the configured number of failed attempts in a row', async () => {
    const th = await startTestGateway(undefined, {
      adminPassword: PASSWORD,
      webhooks: {
        retryScheduleMs: [20],
        maxAttempts: 50,
        jitter: 0,
        pollIntervalMs: 10,
        disableAfterFailures: 3,
      },
    });
    const rx = await receiver(() => ({ status: 502 }));
    try {
      const c = await signedIn(th);
      const hook = await createHook(c, rx.url);
      await createKey(c);
      const disabled = await waitFor(async () => {
        const res = await c.api('GET', `/v1/console/webhooks/${hook.webhook.id}`);
        const { webhook } = (await res.json()) as { webhook: { disabled: boolean; disabledReason: string } };
        return webhook.disabled ? webhook : undefined;
      });
      expect(disabled.disabledReason).toMatch(/3 delivery attempts in a row failed/);
      expect(rx.got).toHaveLength(3);
      const d = await deliveries(c, hook.webhook.id);
      expect(d[0]?.status).toBe('dead');
    } finally {
      await rx.close();
      await th.close();
    }
  });
});

describe('persistence', () => {
  it('resumes queued deliveries after a restart (an attempt cut off by shutdown is sent again)', async () => {
    const dataDir = await tempDir();
    const policy = parsePolicy(LOOPBACK_TEST_POLICY, 'test-policy.json');
    const base = { host: '127.0.0.1', port: 0, dataDir, policy, adminPassword: PASSWORD, warn: () => {} };
    const rx = await receiver();
    let started = 0;
    const gw1 = await startGateway({
      ...base,
      webhooks: {
        pollIntervalMs: 10,
        // Hangs until shutdown aborts it.
        send: (r) =>
          new Promise((_resolve, reject) => {
            started += 1;
            r.signal.addEventListener('abort', () => reject(new Error('aborted')));
          }),
      },
    });
    try {
      const c = await signedIn({ gateway: gw1 } as TestGateway);
      const hook = await createHook(c, rx.url);
      const keyId = await createKey(c);
      await waitFor(() => started > 0 || undefined);
      await gw1.close();
      expect(rx.got).toHaveLength(0);

      const gw2 = await startGateway({ ...base, webhooks: { pollIntervalMs: 10 } });
      try {
        const r = await waitFor(() => rx.got.find((g) => eventOf(g).data.keyId === keyId));
        expect(r.headers['webhook-id']).toMatch(/^evt_/);
        const stored = await gw2.store.listWebhookDeliveries(hook.webhook.id, 10);
        await waitFor(async () =>
          (await gw2.store.listWebhookDeliveries(hook.webhook.id, 10))[0]?.status === 'delivered'
            ? true
            : undefined,
        );
        expect(stored).toHaveLength(1);
      } finally {
        await gw2.close();
      }
    } finally {
      await gw1.close();
      await rx.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a flood of 429s', () => {
  it('becomes one request.rate_limited delivery a minute per key, not one per refused request', async () => {
    const flood = await startTestGateway(
      JSON.stringify({ unsafeAllowRanges: ['127.0.0.0/8'], rateLimits: { perAgent: 1 } }),
      { adminPassword: PASSWORD, webhooks: { pollIntervalMs: 20 } },
    );
    const rx = await receiver();
    try {
      const console = await signedIn(flood);
      await createHook(console, rx.url, ['request.rate_limited']);
      const client = flood.client('flooder');
      const answers = await Promise.allSettled(
        Array.from({ length: 8 }, () => client.check('GET', 'http://127.0.0.1:9/')),
      );
      expect(answers.filter((a) => a.status === 'rejected').length).toBeGreaterThanOrEqual(6);
      await waitFor(() => rx.got.find((g) => eventOf(g).type === 'request.rate_limited'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(rx.got.filter((g) => eventOf(g).type === 'request.rate_limited')).toHaveLength(1);
    } finally {
      await flood.close();
      await rx.close();
    }
  });
});
