/**
 * Section "console" of bench/run.mjs: the request log page at a million records. A fresh data dir
 * gets the store's own schema (SqliteStore.open), then BENCH_CONSOLE_N rows (default 1,000,000)
 * spread over 36 days go in through one prepared statement in one transaction, with the indexes
 * dropped during the load and rebuilt by the next SqliteStore.open. The chain hashes are fillers:
 * computing real ones is not needed for timing reads (verify would fail on this file; it is not run).
 * Then the real page handler (handleLogPages, with the query, the 60-minute chart and the HTML) and
 * the API handler run in-process against a stub response, median of BENCH_CONSOLE_RUNS (default 30).
 * The overview is timed cold (every hour of the day summarized) and warm (hours that are over
 * kept, as on every load after the first). BENCH_CONSOLE_SPAN_DAYS (default 36) packs the records
 * into fewer days for a busier day. Goal: < 100 ms per page.
 */

import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(ROOT, 'dist', 'src', p));

const GOAL_MS = 100;
const OUTCOMES = [
  ['allowed', 'allowed', 0.9],
  ['blocked', 'ssrf_private', 0.04],
  ['blocked', 'policy_denied_host', 0.02],
  ['rate_limited', 'rate_limited_agent', 0.02],
  ['unauthorized', 'bad_signature', 0.01],
  ['error', 'upstream_error', 0.01],
];

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A deterministic PRNG, so every run has the same data. */
function rng(seed) {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function pickOutcome(r) {
  let acc = 0;
  for (const o of OUTCOMES) {
    acc += o[2];
    if (r < acc) return o;
  }
  return OUTCOMES[0];
}

function fill(dataDir, n, now, spanDays) {
  const db = new Database(path.join(dataDir, 'sphyr.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const indexes = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log' AND sql IS NOT NULL")
    .all()
    .map((r) => r.name);
  for (const name of indexes) db.exec(`DROP INDEX ${name}`);
  const insert =
    db.prepare(`INSERT INTO log (seq, id, ts, kind, key_id, agent_id, client_ip, method, url_hash,
    host, url, entropy, outcome, reason, status, bytes_in, bytes_out, duration_ms, signature, tool, args_digest,
    prev_hash, hash) VALUES (?, ?, ?, 'relay', ?, ?, '10.0.0.5', 'GET', ?, ?, NULL, ?, ?, ?, ?, 120, 2048, ?, ?,
    NULL, NULL, ?, ?)`);
  const random = rng(42);
  const span = spanDays * 24 * 3600 * 1000;
  const filler = 'f'.repeat(64);
  const t0 = performance.now();
  db.transaction(() => {
    for (let seq = 1; seq <= n; seq += 1) {
      const [outcome, reason] = pickOutcome(random());
      const host = `api${Math.floor(random() * 50)}.example.com`;
      insert.run(
        seq,
        `req_bench_${seq}`,
        Math.floor(now - span + (seq / n) * span),
        `key_bench${Math.floor(random() * 20)}`,
        `agt_bench${Math.floor(random() * 200)}`,
        filler,
        host,
        3 + random(),
        outcome,
        reason,
        outcome === 'allowed' ? 200 : 403,
        random() * 200,
        'sig1=:AAAA:',
        filler,
        filler,
      );
    }
    db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('log_head_seq', ?)").run(String(n));
  })();
  const insertMs = performance.now() - t0;
  db.close();
  return { insertMs, droppedIndexes: indexes.length };
}

function stubResponse() {
  const res = {
    status: 0,
    bytes: 0,
    writeHead(status) {
      res.status = status;
      return res;
    },
    end(body) {
      res.bytes = body ? Buffer.byteLength(body) : 0;
    },
  };
  return res;
}

export async function consoleBench(tmpRoot, log) {
  const n = Number(process.env.BENCH_CONSOLE_N || 1_000_000);
  const runs = Number(process.env.BENCH_CONSOLE_RUNS || 30);
  const spanDays = Number(process.env.BENCH_CONSOLE_SPAN_DAYS || 36);
  const { SqliteStore } = await dist('gateway/store/sqlite-store.js');
  const { handleLogPages } = await dist('gateway/console/log-pages.js');
  const { handleLogApi } = await dist('gateway/console/log-api.js');
  const { handleDashboard } = await dist('gateway/console/dashboard.js');
  const { parsePolicy } = await dist('policy/index.js');
  const dataDir = path.join(tmpRoot, 'console-data');
  const now = Date.now();
  (await SqliteStore.open(dataDir)).close();
  log(`console: inserting ${n.toLocaleString('en-US')} log records`);
  const { insertMs } = fill(dataDir, n, now, spanDays);
  const t = performance.now();
  const store = await SqliteStore.open(dataDir);
  const indexMs = performance.now() - t;
  const ctx = { store, now: () => now, policy: parsePolicy('{}', 'bench'), warn: () => {} };
  const user = { username: 'bench', csrfToken: 'x' };
  // The overview keeps hours that are over per store object: a fresh wrapper starts it cold.
  const coldCtx = () => ({
    ...ctx,
    store: new Proxy(store, {
      get: (t, p) => (typeof t[p] === 'function' ? t[p].bind(t) : t[p]),
    }),
  });
  const call = async (handler, target, cold = false) => {
    const url = new URL(target, 'http://bench.invalid');
    const res = stubResponse();
    const started = performance.now();
    await handler({
      ctx: cold ? coldCtx() : ctx,
      req: {},
      res,
      path: url.pathname,
      url,
      method: 'GET',
      ip: '127.0.0.1',
      session: {},
      user,
    });
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`${target} answered ${res.status}`);
    return { ms, bytes: res.bytes };
  };
  const hourAgo = new Date(now - 3600_000).toISOString().slice(0, 16);
  const weekAgo = new Date(now - 7 * 86_400_000).toISOString().slice(0, 16);
  const mid = Math.floor(n / 2);
  const cases = [
    ['first page (50 newest + chart)', handleLogPages, '/console/log'],
    [
      'filtered: outcome=blocked + host',
      handleLogPages,
      '/console/log?outcome=blocked&host=api7.example.com',
    ],
    ['filtered: agent', handleLogPages, '/console/log?agent=agt_bench17'],
    [
      'filtered: rare outcome + host, deep page',
      handleLogPages,
      `/console/log?outcome=unauthorized&host=api3.example.com&before=${mid}`,
    ],
    ['filtered: last hour', handleLogPages, `/console/log?from=${hourAgo}`],
    [
      'filtered: a week ago, one hour',
      handleLogPages,
      `/console/log?from=${weekAgo}&to=${new Date(now - 7 * 86_400_000 + 3600_000).toISOString().slice(0, 16)}`,
    ],
    ['record detail', handleLogPages, `/console/log/${mid}`],
    ['overview, first load (24 hours summarized)', handleDashboard, '/console', true],
    ['overview, next loads (the newest hour)', handleDashboard, '/console'],
    ['API live poll (after=head)', handleLogApi, `/v1/console/log?after=${n}`],
    ['API 200 newest, outcome=blocked', handleLogApi, '/v1/console/log?outcome=blocked&limit=200'],
  ];
  const results = [];
  for (const [name, handler, target, cold] of cases) {
    for (let i = 0; i < 3; i += 1) await call(handler, target, cold);
    const times = [];
    let bytes = 0;
    for (let i = 0; i < runs; i += 1) {
      const r = await call(handler, target, cold);
      times.push(r.ms);
      bytes = r.bytes;
    }
    results.push({ name, target, medianMs: median(times), maxMs: Math.max(...times), bytes });
  }
  await store.close();
  return { n, spanDays, runs, insertMs, indexMs, goalMs: GOAL_MS, cases: results };
}

export function renderConsole(c, fmt) {
  const rows = c.cases.map(
    (r) =>
      `   ${r.name.padEnd(42)} ${fmt(r.medianMs, 2).padStart(8)} ms  (max ${fmt(r.maxMs, 1)} ms, ${Math.round(r.bytes / 1024)} KiB)${r.medianMs < c.goalMs ? '' : '  MISSED'}`,
  );
  const pages = c.cases.filter(
    (r) =>
      r.name.startsWith('first') ||
      r.name.startsWith('filtered: outcome=blocked') ||
      r.name.startsWith('overview, next'),
  );
  return [
    '',
    '== 7. console: request log at scale',
    '',
    `${c.n.toLocaleString('en-US')} log records over ${c.spanDays ?? 36} days, inserted in ${fmt(c.insertMs / 1000, 1)} s (one transaction, filler chain hashes: real hashes are not needed to time reads), indexes built in ${fmt(c.indexMs / 1000, 1)} s.`,
    `Server time in-process (the real page/API handler: query + chart + HTML, stub response), median of ${c.runs}:`,
    ...rows,
    `   Goal: < ${c.goalMs} ms for the first page, a filtered page and the overview: ${pages.every((r) => r.medianMs < c.goalMs) ? 'met' : 'MISSED'}.`,
  ];
}
