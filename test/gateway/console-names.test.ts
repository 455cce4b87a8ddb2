import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewLogRecord } from '../../src/gateway/store/types.js';
import { CONSOLE_PASSWORD, ConsoleBrowser, signIn } from '../helpers/console-browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Issue 13 item 20: the console names agents (and keys) where people read them, with the id on
 * hover and in the detail; the log filters by an agent's name as well as its id; each row says
 * what kind of record it is.
 */
let th: TestGateway;
let browser: ConsoleBrowser;
const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);

const LAPTOP = 'agt_laptopAAAAAAAAAAAAAAAAAAAAA';
const DESK = 'agt_deskBBBBBBBBBBBBBBBBBBBBBBBB';
const CURSOR = 'agt_cursorCCCCCCCCCCCCCCCCCCCCC';
const GONE = 'agt_goneDDDDDDDDDDDDDDDDDDDDDDDD';

function record(i: number, fields: Partial<NewLogRecord>): NewLogRecord {
  return {
    id: `req_names_${i}`,
    ts: T0 + i * 60_000,
    kind: 'relay',
    keyId: 'key_ci',
    agentId: LAPTOP,
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

beforeAll(async () => {
  th = await startTestGateway(undefined, { adminPassword: CONSOLE_PASSWORD });
  const store = th.gateway.store;
  await store.createKey('key_ci', 'ci runner', new Uint8Array(32).fill(1), T0);
  const agent = (id: string, name: string, host: string) =>
    store.putAgent({
      id,
      keyId: 'key_ci',
      name,
      runtime: 'node',
      version: '20.20.0',
      host,
      pid: 42,
      createdAt: T0,
      expiresAt: Date.now() + 3_600_000,
    });
  // Two machines run an agent with the same name; a third agent has another name.
  await agent(LAPTOP, 'claude code', 'laptop.example');
  await agent(DESK, 'claude code', 'desk.example');
  await agent(CURSOR, 'cursor', 'laptop.example');
  const seed: Partial<NewLogRecord>[] = [
    {},
    { agentId: DESK, kind: 'check', method: 'POST', host: 'b.example', status: 200 },
    { agentId: CURSOR, kind: 'tool', method: null, host: null, tool: 'github_search', status: 202 },
    { agentId: GONE, keyId: 'key_unknown', outcome: 'blocked', reason: 'ssrf_private' },
    { agentId: null, keyId: null, kind: 'refusal', outcome: 'unauthorized', reason: 'bad_signature' },
  ];
  for (const [i, fields] of seed.entries()) await store.append(record(i + 1, fields));
  browser = new ConsoleBrowser(th.gateway.url);
  expect((await signIn(browser)).status).toBe(303);
});

afterAll(async () => {
  await th?.close();
});

/** The cells of record `seq`'s row in the log page's table. */
function rowCells(html: string, seq: number): string[] {
  const row = new RegExp(`<tr><td><a href="/console/log/${seq}"[\\s\\S]*?</tr>`).exec(html)?.[0];
  if (!row) throw new Error(`no row for record ${seq}`);
  return [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1] ?? '');
}

const text = (cell: string) => cell.replace(/<[^>]+>/g, '').trim();

describe('the request log names agents and keys', () => {
  it('shows the agent and key by name, with the id on hover', async () => {
    const html = await (await browser.get('/console/log')).text();
    const cells = rowCells(html, 1);
    const agent = cells.find((c) => c.includes(LAPTOP)) ?? '';
    expect(text(agent)).toBe('claude code');
    expect(agent).toContain(`title="${LAPTOP} on laptop.example"`);
    const key = cells.find((c) => c.includes('key_ci')) ?? '';
    expect(text(key)).toBe('ci runner');
    expect(key).toContain('title="key_ci"');
  });

  it('falls back to the id for an agent or key it has no record of, and a dash for none', async () => {
    const html = await (await browser.get('/console/log')).text();
    expect(rowCells(html, 4).map(text)).toEqual(expect.arrayContaining([GONE, 'key_unknown']));
    const none = rowCells(html, 5).map(text);
    expect(none.at(-1)).toBe('—');
    expect(none.at(-2)).toBe('—');
  });

  it('says what kind of record each row is', async () => {
    const html = await (await browser.get('/console/log')).text();
    expect(html).toContain('<th scope="col">Kind</th>');
    const kinds = [1, 2, 3, 4, 5].map((seq) => text(rowCells(html, seq)[2] ?? ''));
    expect(kinds).toEqual(['relay', 'check', 'tool', 'relay', 'refusal']);
    // A tool call names its tool where a relay names its host.
    expect(rowCells(html, 3).map(text)).toContain('github_search');
  });

  it('gives names in the JSON API too (and so in live updates)', async () => {
    const { records } = await browser.json<{ records: Array<Record<string, unknown>> }>('/v1/console/log');
    expect(records.find((r) => r.seq === 1)).toMatchObject({
      agentId: LAPTOP,
      agentName: 'claude code',
      agentHost: 'laptop.example',
      keyId: 'key_ci',
      keyName: 'ci runner',
      kind: 'relay',
    });
    expect(records.find((r) => r.seq === 4)).toMatchObject({ agentName: null, keyName: null });
  });

  it('shows name, id and machine in the record detail', async () => {
    const html = await (await browser.get('/console/log/1')).text();
    expect(html).toMatch(
      new RegExp(
        `<th scope="row">Agent</th><td[^>]*>claude code \\(<code>${LAPTOP}</code>\\), node 20\\.20\\.0 on laptop\\.example`,
      ),
    );
    expect(html).toMatch(/<th scope="row">Key<\/th><td[^>]*>ci runner \(<code>key_ci<\/code>\)/);
  });
});

describe('filtering the log by agent', () => {
  const seqs = async (query: string) =>
    (await browser.json<{ records: Array<{ seq: number }> }>(`/v1/console/log?${query}`)).records.map(
      (r) => r.seq,
    );

  it('takes an agent name: every agent of that name, on every machine', async () => {
    expect(await seqs(`agent=${encodeURIComponent('claude code')}`)).toEqual([2, 1]);
    expect(await seqs('agent=cursor')).toEqual([3]);
  });

  it('takes an agent id: that agent alone, even one it has no record of', async () => {
    expect(await seqs(`agent=${DESK}`)).toEqual([2]);
    expect(await seqs(`agent=${GONE}`)).toEqual([4]);
  });

  it('takes a key name or id the same way, and a name nobody has matches nothing', async () => {
    expect(await seqs(`key=${encodeURIComponent('ci runner')}`)).toEqual([3, 2, 1]);
    expect(await seqs('key=key_ci')).toEqual([3, 2, 1]);
    expect(await seqs('agent=nobody')).toEqual([]);
  });

  it('offers the known agent names in the filter form and keeps the typed name', async () => {
    const html = await (await browser.get(`/console/log?agent=${encodeURIComponent('claude code')}`)).text();
    expect(html).toContain('<label for="f-agent">Agent</label>');
    expect(html).toMatch(/<input id="f-agent" name="agent" list="agent-names" value="claude code"/);
    expect(html).toMatch(/<datalist id="agent-names">[\s\S]*<option value="claude code">[\s\S]*<\/datalist>/);
    expect(html).toMatch(/<option value="cursor">/);
  });
});

describe('the agents page', () => {
  it('leads with the name and keeps the id beside it', async () => {
    const html = await (await browser.get('/console/agents')).text();
    expect(html).toContain('<th scope="col">Agent</th>');
    expect(html).toMatch(
      new RegExp(
        `<td><a href="/console/log\\?agent=${DESK}"[^>]*>claude code</a><br><code class="muted id">${DESK}</code></td>`,
      ),
    );
  });
});
