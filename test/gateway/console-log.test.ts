import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databasePath } from '../../src/gateway/store/sqlite-store.js';
import type { NewLogRecord, Outcome } from '../../src/gateway/store/types.js';
import { CONSOLE_PASSWORD, ConsoleBrowser, signIn } from '../helpers/console-browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const PASSWORD = CONSOLE_PASSWORD;

interface ApiRecord {
  seq: number;
  outcome: Outcome;
  host: string | null;
  agentId: string | null;
  keyId: string | null;
  time: string;
  signature: string | null;
}

let th: TestGateway;
let target: TargetServer;
let browser: ConsoleBrowser;
let csrf: string;
const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);

function record(i: number, fields: Partial<NewLogRecord>): NewLogRecord {
  return {
    id: `req_seed_${i}`,
    ts: T0 + i * 60_000,
    kind: 'relay',
    keyId: 'key_a',
    agentId: 'agt_one',
    clientIp: '127.0.0.1',
    method: 'GET',
    urlHash: 'h'.repeat(64),
    host: 'a.example',
    url: null,
    entropy: 3.2,
    outcome: 'allowed',
    reason: 'allowed',
    status: 200,
    bytesIn: 10,
    bytesOut: 20,
    durationMs: 5,
    signature: null,
    tool: null,
    argsDigest: null,
    ...fields,
  };
}

// Seeded records 1..6 (seq 1..6): outcome, host, agent, key vary.
const SEED: Partial<NewLogRecord>[] = [
  {},
  { outcome: 'blocked', reason: 'ssrf_metadata', host: 'b.example', agentId: 'agt_two', keyId: 'key_b' },
  { outcome: 'blocked', reason: 'policy_denied_host', host: 'a.example' },
  { outcome: 'rate_limited', reason: 'rate_limited_agent', agentId: 'agt_two' },
  { host: 'b.example', keyId: 'key_b' },
  { outcome: 'blocked', reason: 'ssrf_private', host: 'b.example', agentId: 'agt_two' },
];

beforeAll(async () => {
  target = await startTarget();
  th = await startTestGateway(undefined, { adminPassword: PASSWORD });
  for (const [i, fields] of SEED.entries()) await th.gateway.store.append(record(i + 1, fields));
  browser = new ConsoleBrowser(th.gateway.url);
  expect((await signIn(browser)).status).toBe(303);
  csrf = (await browser.json<{ csrfToken: string }>('/v1/console/session')).csrfToken;
});

afterAll(async () => {
  await th?.close();
  await target?.close();
});

const seqs = (records: ApiRecord[]) => records.map((r) => r.seq);

describe('request log filters', () => {
  it('returns the matching records newest first, for each filter and together', async () => {
    const all = await browser.json<{ records: ApiRecord[] }>('/v1/console/log');
    expect(seqs(all.records)).toEqual([6, 5, 4, 3, 2, 1]);
    const q = async (query: string) =>
      seqs((await browser.json<{ records: ApiRecord[] }>(`/v1/console/log?${query}`)).records);
    expect(await q('outcome=blocked')).toEqual([6, 3, 2]);
    expect(await q('agent=agt_two')).toEqual([6, 4, 2]);
    expect(await q('key=key_b')).toEqual([5, 2]);
    expect(await q('host=b.example')).toEqual([6, 5, 2]);
    expect(await q('outcome=blocked&host=b.example')).toEqual([6, 2]);
    // from ≤ ts < to, datetime-local values read as UTC.
    expect(await q('from=2025-01-15T12:02&to=2025-01-15T12:05')).toEqual([4, 3, 2]);
    expect(await q(`from=${T0 + 4 * 60_000}`)).toEqual([6, 5, 4]);
    expect(await q('outcome=error')).toEqual([]);
  });

  it('filters the HTML page the same way, with labelled fields and a captioned table', async () => {
    const res = await browser.get('/console/log?outcome=blocked&host=b.example');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('<label for="f-outcome">Outcome</label>');
    expect(html).toContain('<caption>Requests, newest first</caption>');
    expect(html).toContain('<option value="blocked" selected>');
    const linked = [...html.matchAll(/<a href="\/console\/log\/(\d+)"/g)].map((m) => Number(m[1]));
    expect(linked).toEqual([6, 2]);
    expect(html).toContain('<script src="/console/log/live.js" defer></script>');
    expect(html).toContain('<svg viewBox=');
    expect(html).not.toMatch(/<script>|style=/);
  });

  it('rejects bad filter values with a message, not a crash', async () => {
    const res = await browser.get('/v1/console/log?outcome=nope&limit=999');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_query');
    expect(body.error.message).toMatch(/outcome must be one of/);
    const page = await browser.get('/console/log?from=yesterday');
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('from must be a time');
  });

  it('needs a session', async () => {
    expect((await fetch(`${th.gateway.url}/v1/console/log`)).status).toBe(401);
    const page = await fetch(`${th.gateway.url}/console/log`, { redirect: 'manual' });
    expect(page.status).toBe(303);
  });
});

describe('paging', () => {
  it('pages with before= and stays stable while new records arrive; after= gives only newer ones', async () => {
    const store = th.gateway.store;
    for (let i = 0; i < 120; i++) await store.append(record(100 + i, { host: 'page.example' }));
    const first = await browser.json<{ records: ApiRecord[]; nextBefore: number | null }>(
      '/v1/console/log?host=page.example&limit=50',
    );
    expect(first.records).toHaveLength(50);
    expect(first.records[0]?.seq).toBe(126);
    const second = await browser.json<{ records: ApiRecord[]; nextBefore: number | null }>(
      `/v1/console/log?host=page.example&limit=50&before=${first.nextBefore}`,
    );
    expect(seqs(second.records)).toEqual(Array.from({ length: 50 }, (_, i) => 76 - i));
    // New records do not shift an older page.
    for (let i = 0; i < 5; i++) await store.append(record(300 + i, { host: 'page.example' }));
    const again = await browser.json<{ records: ApiRecord[] }>(
      `/v1/console/log?host=page.example&limit=50&before=${first.nextBefore}`,
    );
    expect(seqs(again.records)).toEqual(seqs(second.records));
    const third = await browser.json<{ records: ApiRecord[]; nextBefore: number | null }>(
      `/v1/console/log?host=page.example&limit=50&before=${second.nextBefore}`,
    );
    expect(third.records).toHaveLength(20);
    expect(third.nextBefore).toBeNull();
    const newer = await browser.json<{ records: ApiRecord[] }>('/v1/console/log?host=page.example&after=126');
    expect(seqs(newer.records)).toEqual([131, 130, 129, 128, 127]);

    const html = await (await browser.get('/console/log?host=page.example')).text();
    const older = /<a href="(\/console\/log\?[^"]+)" rel="next">Older records<\/a>/.exec(html)?.[1];
    expect(older?.replaceAll('&amp;', '&')).toBe('/console/log?host=page.example&before=82');
    const page2 = await (await browser.get(older?.replaceAll('&amp;', '&') ?? '')).text();
    expect(page2).toContain('Newest records');
    expect(page2).not.toContain('live.js');
  });
});

describe('a real request', () => {
  it('is logged with its signature, shown in detail, and its agent is listed', async () => {
    const res = await th.client('detail-agent').relay({ method: 'GET', url: `${target.url}/echo?q=1` });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const [latest] = (await browser.json<{ records: ApiRecord[] }>('/v1/console/log?limit=1')).records;
    expect(latest?.outcome).toBe('allowed');
    expect(latest?.signature).toBeTruthy();
    const detail = await browser.get(`/console/log/${latest?.seq}`);
    expect(detail.status).toBe(200);
    const html = await detail.text();
    for (const text of [
      'Method</th><td class="wrap">GET',
      `Host</th><td class="wrap">${new URL(target.url).host}`,
      'Outcome</th><td class="wrap">allowed',
      'Entropy (bits/byte)',
      'Status</th><td class="wrap">200',
      'Duration',
      'Bytes in / out',
      'Signature</th><td class="wrap">',
      'Previous hash',
      'Verify chain',
      th.credential.keyId,
    ]) {
      expect(html).toContain(text);
    }
    expect(html).toContain(String(latest?.signature).slice(0, 40).replaceAll('=', '='));
    expect((await browser.get('/console/log/999999')).status).toBe(404);

    const agents = await (await browser.get('/console/agents')).text();
    expect(agents).toContain('detail-agent');
    expect(agents).toContain(`/console/log?agent=${latest?.agentId}`);
  });
});

describe('verify chain', () => {
  it('reports the chain intact, refuses without _csrf, then reports where an edited row breaks it', async () => {
    expect((await browser.post('/console/log/verify', {})).status).toBe(403);
    const good = await browser.post('/console/log/verify', { _csrf: csrf });
    expect(good.status).toBe(200);
    const goodHtml = await good.text();
    expect(goodHtml).toMatch(/Chain intact: \d+ records checked \(records 1 to \d+\)/);
    const db = new Database(databasePath(th.dataDir));
    db.prepare("UPDATE log SET outcome = 'allowed', reason = 'allowed' WHERE seq = 2").run();
    db.close();
    const bad = await (await browser.post('/console/log/verify', { _csrf: csrf })).text();
    expect(bad).toContain('Chain broken at record 2: record 2 was altered');
    expect(bad).toContain('href="/console/log/2"');
  });
});

describe('policy', () => {
  it('shows the policy and retention, and tests URLs through the /v1/check path without sending them', async () => {
    const page = await browser.get('/console/policy');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('&quot;unsafeAllowRanges&quot;: [');
    expect(html).toContain('<strong>36 days</strong>');
    expect(html).toMatch(/The last purge ran .* removed 0 records/);

    const before = target.seen.length;
    const blocked = await browser.post('/console/policy', {
      _csrf: csrf,
      method: 'GET',
      url: 'http://169.254.169.254/latest/meta-data/',
    });
    expect(blocked.status).toBe(200);
    const blockedHtml = await blocked.text();
    expect(blockedHtml).toContain('Verdict: block');
    expect(blockedHtml).toMatch(/reason: <code>ssrf_[a-z_]+<\/code>/);

    const allowed = await (
      await browser.post('/console/policy', { _csrf: csrf, method: 'post', url: `${target.url}/echo` })
    ).text();
    expect(allowed).toContain('Verdict: allow');
    expect(allowed).toContain('reason: <code>allowed</code>');
    expect(target.seen.length).toBe(before);

    expect((await browser.post('/console/policy', { method: 'GET', url: target.url })).status).toBe(403);
    const bad = await browser.post('/console/policy', { _csrf: csrf, method: 'G E T', url: 'x' });
    expect(bad.status).toBe(400);
  });
});

describe('no credential on any page', () => {
  it('never shows a credential or key secret', async () => {
    const secret = Buffer.from(th.credential.secret).toString('base64url');
    for (const path of ['/console', '/console/log', '/console/log/1', '/console/agents', '/console/policy']) {
      const res = await browser.get(path);
      expect(res.status, path).toBe(200);
      const html = await res.text();
      expect(html).not.toContain(secret);
      expect(html).not.toMatch(/sphyr\.key_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}/);
    }
    const api = await (await browser.get('/v1/console/log?limit=200')).text();
    expect(api).not.toContain(secret);
    const js = await browser.get('/console/log/live.js');
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect(await js.text()).toContain('/v1/console/log?limit=200&after=');
  });
});
