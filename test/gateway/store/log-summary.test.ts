import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { newDraft } from '../../../src/gateway/log-draft.js';
import { SqliteStore } from '../../../src/gateway/store/sqlite-store.js';
import type { Outcome } from '../../../src/gateway/store/types.js';
import { tempDir } from '../../helpers/gateway.js';

const HOUR = 3_600_000;
const T = Date.UTC(2026, 0, 10, 12, 0, 0);

function record(i: number, ts: number, outcome: Outcome, reason: string, host: string | null) {
  const r = newDraft(`req_sum_${i}`, ts, 'relay', '127.0.0.1', 'GET');
  Object.assign(r, { outcome, reason, host, status: outcome === 'allowed' ? 200 : 403 });
  return r;
}

const dirs: string[] = [];
async function store(): Promise<SqliteStore> {
  const dir = await tempDir();
  dirs.push(dir);
  return SqliteStore.open(dir);
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('summarizeLog', () => {
  it('counts exactly the records with from ≤ ts < to, a late-written slow request included', async () => {
    const s = await store();
    let i = 0;
    const add = (ts: number, outcome: Outcome, reason: string, host: string | null) =>
      s.append(record(++i, ts, outcome, reason, host));
    await add(T - 1, 'blocked', 'ssrf_private', 'before.example');
    await add(T, 'allowed', 'allowed', 'a.example');
    await add(T + 10, 'blocked', 'ssrf_private', 'b.example');
    await add(T + HOUR, 'blocked', 'ssrf_private', 'after.example');
    // Started inside the hour, written after a record of the next hour (a long stream).
    await add(T + HOUR - 1, 'blocked', 'policy_denied_host', 'b.example');
    await add(T + 20, 'allowed', 'policy_denied_host', 'report.example');
    const summary = await s.summarizeLog(T, T + HOUR, 10);
    expect(summary.reasons).toEqual([
      { outcome: 'allowed', reason: 'allowed', count: 1 },
      { outcome: 'allowed', reason: 'policy_denied_host', count: 1 },
      { outcome: 'blocked', reason: 'policy_denied_host', count: 1 },
      { outcome: 'blocked', reason: 'ssrf_private', count: 1 },
    ]);
    expect(summary.blockedHosts).toEqual([{ host: 'b.example', count: 2 }]);
    expect(await s.summarizeLog(T + 2 * HOUR, T + 3 * HOUR, 10)).toEqual({ reasons: [], blockedHosts: [] });
    await s.close();
  });

  it('keeps only the top hosts asked for, most first, ties by name', async () => {
    const s = await store();
    let i = 0;
    for (const [host, n] of [
      ['c.example', 1],
      ['a.example', 3],
      ['b.example', 1],
      ['d.example', 2],
    ] as const) {
      for (let k = 0; k < n; k += 1) await s.append(record(++i, T + i, 'blocked', 'ssrf_private', host));
    }
    expect((await s.summarizeLog(T, T + HOUR, 3)).blockedHosts).toEqual([
      { host: 'a.example', count: 3 },
      { host: 'd.example', count: 2 },
      { host: 'b.example', count: 1 },
    ]);
    await s.close();
  });
});

describe('lastVerify', () => {
  it('is absent until a verify runs, then holds its result, sealed; a reopened store reads it', async () => {
    const s = await store();
    expect(await s.lastVerify()).toEqual({ state: 'absent' });
    await s.append(record(1, T, 'allowed', 'allowed', 'a.example'));
    await s.append(record(2, T + 1, 'allowed', 'allowed', 'a.example'));
    const before = Date.now();
    await s.verify();
    const last = await s.lastVerify();
    expect(last).toMatchObject({
      state: 'ok',
      run: { ok: true, checked: 2, firstSeq: 1, lastSeq: 2, problems: 0, brokenAt: null, problem: null },
    });
    expect(last.state === 'ok' && last.run.at).toBeGreaterThanOrEqual(before);
    await s.close();
    const again = await SqliteStore.open(dirs[0] as string);
    expect((await again.lastVerify()).state).toBe('ok');
    await again.close();
  });
});
