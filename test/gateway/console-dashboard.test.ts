import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databasePath } from '../../src/gateway/store/sqlite-store.js';
import type { NewLogRecord } from '../../src/gateway/store/types.js';
import { CONSOLE_PASSWORD, ConsoleBrowser, csrfOf, signIn } from '../helpers/console-browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Issue 13 item 19: the console's home page is an overview a security engineer reads: requests in
 * the last 24 hours by outcome, the most-blocked hosts and the reasons, live agents, the chain's
 * state, each number a link to the log filtered to exactly those records.
 */
let th: TestGateway;
let browser: ConsoleBrowser;
/** The gateway's clock, held still so the 24-hour window is the same for every page load. */
const NOW = Date.now();
const HOUR = 3_600_000;
const LIVE = 'agt_liveAAAAAAAAAAAAAAAAAAAAAAAA';
const EXPIRED = 'agt_expiredBBBBBBBBBBBBBBBBBBBBB';

let n = 0;
function record(ago: number, fields: Partial<NewLogRecord>): NewLogRecord {
  n += 1;
  return {
    id: `req_dash_${n}`,
    ts: NOW - ago,
    kind: 'relay',
    keyId: 'key_dash',
    agentId: LIVE,
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

const blocked = (reason: string, host: string | null): Partial<NewLogRecord> => ({
  outcome: 'blocked',
  reason,
  host,
  status: 403,
});

beforeAll(async () => {
  th = await startTestGateway(undefined, { adminPassword: CONSOLE_PASSWORD, now: () => NOW });
  const store = th.gateway.store;
  await store.createKey('key_dash', 'dash key', new Uint8Array(32).fill(2), NOW - 48 * HOUR);
  const agent = (id: string, name: string, expiresAt: number) =>
    store.putAgent({
      id,
      keyId: 'key_dash',
      name,
      runtime: 'node',
      version: '20.20.0',
      host: 'laptop.example',
      pid: 7,
      createdAt: NOW - 2 * HOUR,
      expiresAt,
    });
  await agent(LIVE, 'claude code', NOW + HOUR);
  await agent(EXPIRED, 'old agent', NOW - 60_000);
  const seed: [number, Partial<NewLogRecord>][] = [
    // A day and more ago: outside the window.
    ...Array.from({ length: 5 }, (): [number, Partial<NewLogRecord>] => [
      26 * HOUR,
      blocked('ssrf_private', 'b.example'),
    ]),
    // Inside it (23 h ago is inside too).
    [23 * HOUR, {}],
    [3 * HOUR, {}],
    [60_000, {}],
    [2 * HOUR, blocked('ssrf_private', 'b.example')],
    [30_000, blocked('ssrf_private', 'b.example')],
    [HOUR, blocked('policy_denied_host', 'c.example')],
    [HOUR, blocked('ssrf_metadata', '169.254.169.254')],
    [HOUR, { outcome: 'rate_limited', reason: 'rate_limited_agent', status: 429 }],
    [HOUR, { outcome: 'unauthorized', reason: 'bad_signature', host: null, agentId: null, status: 401 }],
    // Report mode: let through, with the reason enforce would have refused it for.
    [HOUR, { reason: 'policy_denied_host', host: 'd.example' }],
  ];
  for (const [ago, fields] of seed) await store.append(record(ago, fields));
  browser = new ConsoleBrowser(th.gateway.url);
  expect((await signIn(browser)).status).toBe(303);
});

afterAll(async () => {
  await th?.close();
});

async function home(): Promise<string> {
  const res = await browser.get('/console');
  expect(res.status).toBe(200);
  return res.text();
}

/** The links on the page whose visible text is `text` (the number or the name that was clicked). */
function hrefsFor(html: string, text: string): string[] {
  return [...html.matchAll(/<a href="([^"]+)"[^>]*>([\s\S]*?)<\/a>/g)]
    .filter(
      (m) =>
        (m[2] ?? '')
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .trim() === text,
    )
    .map((m) => (m[1] ?? '').replaceAll('&amp;', '&'));
}

/** How many records the log shows for a link from the overview (through the JSON API). */
async function recordsBehind(href: string): Promise<number> {
  expect(href).toMatch(/^\/console\/log\?/);
  const { records } = await browser.json<{ records: unknown[] }>(
    `${href.replace('/console/log', '/v1/console/log')}&limit=200`,
  );
  return records.length;
}

function section(html: string, heading: string): string {
  const start = html.indexOf(`>${heading}</h2>`);
  if (start < 0) throw new Error(`no section "${heading}"`);
  const end = html.indexOf('</section>', start);
  return html.slice(start, end);
}

describe('the overview', () => {
  it('is the console home: a page of its own, no script, the strict CSP', async () => {
    const res = await browser.get('/console');
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    const html = await res.text();
    expect(html).toContain('<h1>Overview</h1>');
    expect(html).not.toMatch(/<script|style=/);
  });

  it('counts the last 24 hours by outcome, each count a link to exactly those records', async () => {
    const part = section(await home(), 'Requests in the last 24 hours');
    const tiles = [
      ...part.matchAll(
        /<a href="([^"]+)"[^>]*><span class="tile-n">([\d,]+)<\/span> <span class="tile-label">([a-z_ ]+)<\/span><\/a>/g,
      ),
    ].map((m) => ({
      href: (m[1] ?? '').replaceAll('&amp;', '&'),
      count: Number(m[2]?.replace(/,/g, '')),
      label: m[3],
    }));
    expect(tiles.map((t) => [t.label, t.count])).toEqual([
      ['all requests', 10],
      ['allowed', 4],
      ['blocked', 4],
      ['rate_limited', 1],
      ['unauthorized', 1],
      ['error', 0],
    ]);
    for (const tile of tiles) expect(await recordsBehind(tile.href)).toBe(tile.count);
    // The hourly chart covers the same window.
    expect(part).toContain('Requests per hour by outcome, last 24 hours (UTC)');
  });

  it('lists the most-blocked hosts, most first, each linked to its blocked records', async () => {
    const part = section(await home(), 'Most-blocked hosts');
    const hosts = [
      ...part.matchAll(/<td><a href="[^"]+">([^<]+)<\/a><\/td><td class="num">(\d+)<\/td>/g),
    ].map((m) => [m[1], Number(m[2])]);
    expect(hosts).toEqual([
      ['b.example', 2],
      ['169.254.169.254', 1],
      ['c.example', 1],
    ]);
    const [href] = hrefsFor(part, 'b.example');
    expect(await recordsBehind(href ?? '')).toBe(2);
  });

  it('lists the reasons requests were refused (and report mode would have been), linked', async () => {
    const part = section(await home(), 'Top reasons');
    const reasons = [
      ...part.matchAll(
        /<td><a href="[^"]+"><code>([a-z_]+)<\/code><\/a><\/td><td>([a-z_ ()]+)<\/td><td class="num">(\d+)<\/td>/g,
      ),
    ].map((m) => [m[1], m[2], Number(m[3])]);
    expect(reasons).toEqual([
      ['ssrf_private', 'blocked', 2],
      ['policy_denied_host', 'allowed (report mode)', 1],
      ['policy_denied_host', 'blocked', 1],
      ['ssrf_metadata', 'blocked', 1],
      ['rate_limited_agent', 'rate_limited', 1],
      ['bad_signature', 'unauthorized', 1],
    ]);
    for (const [reason, count] of [
      ['ssrf_private', 2],
      ['bad_signature', 1],
    ] as const) {
      const [href] = hrefsFor(part, reason);
      expect(await recordsBehind(href ?? '')).toBe(count);
    }
  });

  it('shows live agents by name, not expired ones', async () => {
    const part = section(await home(), 'Live agents');
    expect(part).toContain('1 live agent');
    expect(hrefsFor(part, 'claude code')).toEqual([`/console/log?agent=${LIVE}`]);
    expect(part).toContain(`title="${LIVE} on laptop.example"`);
    expect(part).not.toContain('old agent');
  });
});

describe("the chain's state", () => {
  it('says the chain was never verified and offers to, without verifying on each load', async () => {
    const part = section(await home(), 'Log chain');
    expect(part).toContain('Newest record: <a href="/console/log/15">15</a>');
    expect(part).toContain('Not verified yet.');
    expect(part).toMatch(
      /<form method="post" action="\/console\/log\/verify"[\s\S]*<button type="submit"[^>]*>Verify now<\/button>/,
    );
    // Loading the overview never ran a verify: there is still no result.
    expect(await th.gateway.store.lastVerify()).toEqual({ state: 'absent' });
  });

  it('shows the last verify: intact, when, and how many records came since', async () => {
    const page = await browser.get('/console');
    const verify = await browser.post('/console/log/verify', { _csrf: csrfOf(await page.text()) });
    expect(verify.status).toBe(200);
    await th.gateway.store.append(record(1000, {}));
    const part = section(await home(), 'Log chain');
    expect(part).toMatch(/class="notice"[^>]*>Intact when last verified \(records 1 to 15, 15 checked\)/);
    expect(part).toMatch(/Verified \d+ seconds? ago/);
    expect(part).toContain('1 record written since, not yet verified.');
  });

  it('puts a broken chain at the top of the page, with the record', async () => {
    const db = new Database(databasePath(th.dataDir));
    db.prepare("UPDATE log SET host = 'quiet.example' WHERE seq = 7").run();
    db.close();
    const page = await browser.get('/console');
    await browser.post('/console/log/verify', { _csrf: csrfOf(await page.text()) });
    const html = await home();
    const alert = /<p class="error" role="alert">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '';
    expect(alert).toContain('The log chain is broken at record <a href="/console/log/7">7</a>');
    expect(html.indexOf('role="alert"')).toBeLessThan(html.indexOf('Requests in the last 24 hours'));
  });

  it('refuses to vouch for a verify result someone wrote into the database', async () => {
    const db = new Database(databasePath(th.dataDir));
    const forged = JSON.stringify({
      at: NOW,
      ok: true,
      checked: 16,
      firstSeq: 1,
      lastSeq: 16,
      problems: 0,
      brokenAt: null,
      problem: null,
      mac: '0'.repeat(64),
    });
    db.prepare("UPDATE meta SET value = ? WHERE name = 'last_verify'").run(forged);
    db.close();
    const html = await home();
    expect(section(html, 'Log chain')).not.toContain('Intact');
    expect(html).toMatch(/role="alert">The last verify result in the database is not authentic/);
  });
});

describe('the overview over time', () => {
  const total = async () =>
    Number(
      /<span class="tile-n">([\d,]+)<\/span> <span class="tile-label">all requests/.exec(await home())?.[1],
    );

  it('counts a record of the current hour on the next load (only hours long over are kept)', async () => {
    const before = await total();
    await th.gateway.store.append(record(0, {}));
    expect(await total()).toBe(before + 1);
  });
});
