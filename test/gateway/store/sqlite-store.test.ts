import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateCredential } from '../../../src/config/credential.js';
import { newDraft } from '../../../src/gateway/log-draft.js';
import { startGateway } from '../../../src/gateway/server.js';
import { databasePath, SqliteStore } from '../../../src/gateway/store/sqlite-store.js';
import { DEFAULT_POLICY } from '../../../src/policy/index.js';
import { tempDir } from '../../helpers/gateway.js';

const DAY = 24 * 60 * 60 * 1000;

function record(i: number, ts: number) {
  const r = newDraft(`req_${i}`, ts, 'relay', '127.0.0.1', 'GET');
  r.outcome = 'allowed';
  r.reason = 'allowed';
  r.status = 200;
  r.host = 'api.example.com';
  return r;
}

describe('SqliteStore', () => {
  it('keeps API secrets encrypted at rest and the master key 0600', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open(dir);
    const credential = generateCredential('key_secret');
    await store.createKey(credential.keyId, 'k', credential.secret, Date.now());
    const back = await store.getKey(credential.keyId);
    expect(Buffer.from(back?.secret ?? []).equals(Buffer.from(credential.secret))).toBe(true);
    await store.close();
    const raw = Buffer.concat(
      await Promise.all(
        (await readdir(dir)).filter((f) => f.startsWith('sphyr.db')).map((f) => readFile(path.join(dir, f))),
      ),
    );
    expect(raw.includes(Buffer.from(credential.secret))).toBe(false);
    expect(raw.includes(Buffer.from(credential.reveal().split('.')[2] as string))).toBe(false);
    expect((await stat(path.join(dir, 'master.key'))).mode & 0o777).toBe(0o600);
  });

  it('purges records past retention and the rest of the chain still verifies', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open(dir);
    const now = Date.now();
    for (let i = 1; i <= 10; i += 1) await store.append(record(i, now - (i <= 4 ? 40 * DAY : DAY) + i));
    expect(await store.purgeBefore(now - 36 * DAY)).toBe(4);
    const left = await store.query({ limit: 100 });
    expect(left.map((r) => r.seq).sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(await store.verify()).toMatchObject({ ok: true, checked: 6, firstSeq: 5, lastSeq: 10 });
    // The chain continues across a reopen.
    await store.close();
    const again = await SqliteStore.open(dir);
    await again.append(record(11, now));
    expect(await again.verify()).toMatchObject({ ok: true, checked: 7, lastSeq: 11 });
    await again.close();
  });

  it('runs the retention purge when the gateway starts, with the policy retention', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open(dir);
    const now = Date.now();
    await store.append(record(1, now - 10 * DAY));
    await store.append(record(2, now - 2 * DAY));
    await store.close();
    const gateway = await startGateway({
      host: '127.0.0.1',
      port: 0,
      dataDir: dir,
      policy: { ...DEFAULT_POLICY, retentionDays: 5 },
      warn: () => {},
    });
    const ids = (await gateway.store.query({ limit: 10 })).map((r) => r.id);
    await gateway.close();
    expect(ids).toEqual(['req_2']);
  });

  it('pages backwards and filters by agent and key', async () => {
    const store = await SqliteStore.open(await tempDir());
    for (let i = 1; i <= 5; i += 1) {
      const r = record(i, Date.now());
      r.agentId = i % 2 ? 'agt_odd' : 'agt_even';
      r.keyId = 'key_1';
      await store.append(r);
    }
    expect((await store.query({ limit: 2 })).map((r) => r.seq)).toEqual([5, 4]);
    expect((await store.query({ limit: 2, beforeSeq: 4 })).map((r) => r.seq)).toEqual([3, 2]);
    expect((await store.query({ limit: 10, agentId: 'agt_even' })).map((r) => r.seq)).toEqual([4, 2]);
    expect(await store.query({ limit: 10, keyId: 'key_2' })).toEqual([]);
    await store.close();
  });

  it('a gateway restarted after the newest records were deleted keeps them a visible gap, and warns', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open(dir);
    for (let i = 1; i <= 10; i += 1) await store.append(record(i, Date.now()));
    await store.close();
    const db = new Database(databasePath(dir));
    db.prepare('DELETE FROM log WHERE seq > 8').run();
    db.prepare("DELETE FROM meta WHERE name LIKE 'log_head%'").run();
    db.close();
    const warnings: string[] = [];
    const gateway = await startGateway({
      host: '127.0.0.1',
      port: 0,
      dataDir: dir,
      warn: (m) => warnings.push(m),
    });
    // New records continue after the deleted ones instead of taking their numbers.
    expect((await gateway.store.append(record(11, Date.now()))).seq).toBe(11);
    const result = await gateway.store.verify();
    await gateway.close();
    expect(warnings.join('\n')).toContain('log records 9–10 are missing from sphyr.db');
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.message)).toEqual(['records 9–10 are missing']);
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies while the writer is running, before log-head.json has caught up', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open(dir);
    for (let i = 1; i <= 5; i += 1) await store.append(record(i, Date.now()));
    const reader = await SqliteStore.open(dir);
    expect(await reader.verify()).toMatchObject({ ok: true, checked: 5, problems: [], notes: [] });
    await reader.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to make a new master.key beside an existing sphyr.db', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open(dir);
    await store.append(record(1, Date.now()));
    await store.close();
    await rm(path.join(dir, 'master.key'));
    await expect(SqliteStore.open(dir)).rejects.toMatchObject({ code: 'master_key_missing' });
    expect(await readdir(dir)).not.toContain('master.key');
    await rm(dir, { recursive: true, force: true });
  });
});
