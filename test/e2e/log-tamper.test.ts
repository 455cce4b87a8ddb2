/**
 * Issue 11 item 8: an attacker who can write sphyr.db but not master.key deletes, reorders or
 * rewrites records and meta; `sphyr log verify` must catch it and say what it found. Logs are built
 * with the real store, tampered with through the SQLite file, and checked by the built CLI.
 */
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDraft } from '../../src/gateway/log-draft.js';
import { startGateway } from '../../src/gateway/server.js';
import { databasePath, SqliteStore } from '../../src/gateway/store/sqlite-store.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.now();

interface MetaRow {
  name: string;
  value: string;
}

function record(i: number) {
  // Records 1–3 are past the 36-day retention, 4–10 are recent.
  const r = newDraft(`req_${i}`, i <= 3 ? NOW - 40 * DAY + i : NOW - DAY + i, 'relay', '127.0.0.1', 'GET');
  r.outcome = 'allowed';
  r.reason = 'allowed';
  r.status = 200;
  r.host = `host${i}.example.com`;
  return r;
}

function readMeta(dataDir: string): MetaRow[] {
  const db = new Database(databasePath(dataDir), { readonly: true });
  try {
    return db.prepare('SELECT name, value FROM meta').all() as MetaRow[];
  } finally {
    db.close();
  }
}

const dirs: string[] = [];
let root: string;
/** 10 records, nothing purged; `metaAt8` is the meta table as it was when the log had 8 records. */
let plain: string;
let metaAt8: MetaRow[];
/** 10 records, records 1–3 purged by retention; `metaAfterFirstPurge` was saved when only 1–2 were. */
let purged: string;
let metaAfterFirstPurge: MetaRow[];

beforeAll(async () => {
  root = await tempDir();
  plain = path.join(root, 'plain');
  const a = await SqliteStore.open(plain);
  for (let i = 1; i <= 10; i += 1) {
    await a.append(record(i));
    if (i === 8) metaAt8 = readMeta(plain);
  }
  await a.close();

  purged = path.join(root, 'purged');
  const b = await SqliteStore.open(purged);
  for (let i = 1; i <= 10; i += 1) await b.append(record(i));
  expect(await b.purgeBefore(NOW - 40 * DAY + 2.5, NOW)).toBe(2);
  metaAfterFirstPurge = readMeta(purged);
  expect(await b.purgeBefore(NOW - 36 * DAY, NOW)).toBe(1);
  await b.close();
});

afterAll(async () => {
  for (const d of [root, ...dirs]) await rm(d, { recursive: true, force: true });
});

/** A private copy of a prepared data dir, tampered with by `edit` through the SQLite file. */
async function tampered(base: string, edit: (db: Database.Database) => void): Promise<string> {
  const dir = await tempDir();
  dirs.push(dir);
  const copy = path.join(dir, 'data');
  await cp(base, copy, { recursive: true });
  const db = new Database(databasePath(copy));
  try {
    db.transaction(() => edit(db))();
  } finally {
    db.close();
  }
  return copy;
}

function hashOf(db: Database.Database, seq: number): string {
  return (db.prepare('SELECT hash FROM log WHERE seq = ?').get(seq) as { hash: string }).hash;
}

/** Point every head-like meta value at `seq` (what an attacker would do to hide deleted newest records). */
function lowerHead(db: Database.Database, seq: number): void {
  const hash = hashOf(db, seq);
  db.prepare("UPDATE meta SET value = ? WHERE name = 'log_head_seq'").run(String(seq));
  for (const row of db.prepare("SELECT name, value FROM meta WHERE name LIKE '%head%'").all() as MetaRow[]) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(row.value);
    } catch {
      continue;
    }
    if (typeof parsed === 'object' && parsed !== null) {
      db.prepare('UPDATE meta SET value = ? WHERE name = ?').run(
        JSON.stringify({ ...parsed, seq, hash }),
        row.name,
      );
    }
  }
}

function restoreMeta(db: Database.Database, rows: MetaRow[]): void {
  db.prepare('DELETE FROM meta').run();
  for (const row of rows) db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run(row.name, row.value);
}

function setAnchor(db: Database.Database, value: object): void {
  db.prepare(
    "INSERT INTO meta (name, value) VALUES ('purge_anchor', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
  ).run(JSON.stringify(value));
}

function anchorOf(db: Database.Database): Record<string, unknown> {
  const row = db.prepare("SELECT value FROM meta WHERE name = 'purge_anchor'").get() as MetaRow | undefined;
  return JSON.parse(row?.value ?? '{}') as Record<string, unknown>;
}

async function verify(dataDir: string, json = false) {
  return runCli(['log', 'verify', ...(json ? ['--json'] : []), '--data-dir', dataDir]);
}

async function expectFailure(dataDir: string, ...patterns: RegExp[]): Promise<void> {
  const result = await verify(dataDir);
  expect(result.stderr).toContain('log verification FAILED');
  for (const p of patterns) expect(result.stderr).toMatch(p);
  expect(result.code).toBe(3);
}

describe('sphyr log verify against a sphyr.db writer without master.key', () => {
  it('passes the untampered logs', async () => {
    const a = await verify(plain);
    expect(a.stderr).toMatch(/log verified: 10 records intact \(seq 1–10\)/);
    expect(a.code).toBe(0);
    const b = await verify(purged);
    expect(b.stderr).toMatch(/log verified: 7 records intact \(seq 4–10\)/);
    expect(b.code).toBe(0);
  });

  it('example: deleting the newest records and lowering meta.log_head_seq fails', async () => {
    const dir = await tampered(plain, (db) => {
      db.prepare('DELETE FROM log WHERE seq > 8').run();
      lowerHead(db, 8);
    });
    await expectFailure(dir, /records 9–10 are missing/);
  });

  it('deleting the newest records and rolling meta back to an older copy the gateway wrote fails', async () => {
    const dir = await tampered(plain, (db) => {
      db.prepare('DELETE FROM log WHERE seq > 8').run();
      restoreMeta(db, metaAt8);
    });
    await expectFailure(dir, /records 9–10 are missing/);
  });

  it('example: deleting a prefix and writing meta.purge_anchor fails', async () => {
    const dir = await tampered(plain, (db) => {
      setAnchor(db, { seq: 3, hash: hashOf(db, 3) });
      db.prepare('DELETE FROM log WHERE seq <= 3').run();
    });
    await expectFailure(dir, /purge anchor is not authentic/, /records 1–3 are missing/);
  });

  it('example: deleting everything and writing meta.purge_anchor fails', async () => {
    const dir = await tampered(plain, (db) => {
      setAnchor(db, { seq: 10, hash: hashOf(db, 10) });
      db.prepare('DELETE FROM log').run();
    });
    await expectFailure(dir, /purge anchor is not authentic/, /records 1–10 are missing/);
  });

  it('deleting every record, meta left as it was, fails', async () => {
    const dir = await tampered(plain, (db) => {
      db.prepare('DELETE FROM log').run();
    });
    await expectFailure(dir, /records 1–10 are missing/);
  });

  it('deleting every record and all of meta fails instead of calling an empty log intact', async () => {
    const dir = await tampered(plain, (db) => {
      db.prepare('DELETE FROM log').run();
      db.prepare('DELETE FROM meta').run();
    });
    await expectFailure(dir, /log head is missing/, /records 1–10 are missing/);
  });

  it('deleting records from the middle reports every gap, not only the first', async () => {
    const dir = await tampered(plain, (db) => {
      db.prepare('DELETE FROM log WHERE seq IN (3, 7)').run();
    });
    await expectFailure(dir, /record 3 is missing/, /record 7 is missing/);
  });

  it('swapping two records reports both', async () => {
    const dir = await tampered(plain, (db) => {
      db.prepare('UPDATE log SET seq = -4 WHERE seq = 4').run();
      db.prepare('UPDATE log SET seq = 4 WHERE seq = 5').run();
      db.prepare('UPDATE log SET seq = 5 WHERE seq = -4').run();
    });
    await expectFailure(dir, /FAILED at record 4/, /record 5 was altered/);
  });

  it('a purge anchor moved to another seq (its MAC copied along) fails', async () => {
    const dir = await tampered(purged, (db) => {
      setAnchor(db, { ...anchorOf(db), seq: 5, hash: hashOf(db, 5) });
      db.prepare('DELETE FROM log WHERE seq <= 5').run();
    });
    await expectFailure(dir, /purge anchor is not authentic/, /records 1–5 are missing/);
  });

  it('a purge anchor whose retention was edited fails', async () => {
    const dir = await tampered(purged, (db) => {
      const anchor = anchorOf(db);
      // Whatever the anchor records about retention, a change to it must show.
      setAnchor(db, { ...anchor, retentionMs: 1, retentionDays: 0 });
    });
    await expectFailure(dir, /purge anchor is not authentic/);
  });

  it('an older purge anchor put back reports the records it no longer covers', async () => {
    const dir = await tampered(purged, (db) => {
      const old = metaAfterFirstPurge.find((r) => r.name === 'purge_anchor');
      db.prepare("UPDATE meta SET value = ? WHERE name = 'purge_anchor'").run(old?.value);
    });
    await expectFailure(dir, /record 3 is missing/);
  });

  it('an authentic purge anchor younger than its retention allows fails (a gateway clock set ahead)', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const store = await SqliteStore.open(dir);
    for (let i = 1; i <= 10; i += 1) await store.append(record(i));
    // A clock 30 days ahead purges records that were only 1 day old.
    expect(await store.purgeBefore(NOW, NOW + 30 * DAY)).toBe(10);
    await store.close();
    await expectFailure(dir, /purge anchor is younger than its retention allows/);
  });

  it('a record backdated in the file does not let the retention purge delete younger records', async () => {
    const dir = await tampered(plain, (db) => {
      db.prepare('UPDATE log SET ts = ? WHERE seq = 9').run(NOW - 40 * DAY);
    });
    const gateway = await startGateway({ host: '127.0.0.1', port: 0, dataDir: dir, warn: () => {} });
    const left = (await gateway.store.query({ limit: 100 })).map((r) => r.seq);
    await gateway.close();
    // Only the three records really past the 36-day retention went; the edit is still reported.
    expect(left.sort((a, b) => a - b)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    await expectFailure(dir, /FAILED at record 9: record 9 was altered/);
  });

  it('--json lists every problem found', async () => {
    const dir = await tampered(plain, (db) => {
      db.prepare('UPDATE log SET status = 201 WHERE seq = 2').run();
      db.prepare('DELETE FROM log WHERE seq > 8').run();
      lowerHead(db, 8);
    });
    const result = await verify(dir, true);
    expect(result.code).toBe(3);
    const out = JSON.parse(result.stdout) as { ok: boolean; problems: { seq: number; message: string }[] };
    expect(out.ok).toBe(false);
    expect(out.problems.map((p) => p.message).join('\n')).toMatch(
      /record 2 was altered[\s\S]*records 9–10 are missing/,
    );
  });
});

describe('a log written by an older Sphyr (head and anchor without MACs)', () => {
  it('verifies with a note, gets authenticated on the next gateway start, then catches deleted newest records', async () => {
    // What the older version left behind: log_head_seq and a bare {seq, hash} anchor, no witness.
    const dir = await tampered(purged, (db) => {
      const anchor = anchorOf(db);
      for (const row of db.prepare('SELECT name FROM meta').all() as MetaRow[]) {
        if (row.name !== 'last_purge') db.prepare('DELETE FROM meta WHERE name = ?').run(row.name);
      }
      db.prepare("INSERT INTO meta (name, value) VALUES ('log_head_seq', '10')").run();
      setAnchor(db, { seq: anchor.seq, hash: anchor.hash });
    });
    const { readdir, unlink } = await import('node:fs/promises');
    for (const f of await readdir(dir)) {
      if (f !== 'master.key' && !f.startsWith('sphyr.db')) await unlink(path.join(dir, f));
    }
    const before = await verify(dir);
    expect(before.stderr).toMatch(/log verified: 7 records intact/);
    expect(before.stderr).toMatch(/older version of Sphyr/);
    expect(before.code).toBe(0);

    const gateway = await startGateway({ host: '127.0.0.1', port: 0, dataDir: dir, warn: () => {} });
    await gateway.close();
    const after = await verify(dir);
    expect(after.stderr).toMatch(/log verified: 7 records intact/);
    expect(after.stderr).not.toMatch(/older version/);
    expect(after.code).toBe(0);

    const db = new Database(databasePath(dir));
    db.prepare('DELETE FROM log WHERE seq > 8').run();
    lowerHead(db, 8);
    db.close();
    await expectFailure(dir, /records 9–10 are missing/);
  });
});
