import { createHmac } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SphyrConfigError } from '../../errors.js';
import { prepareDataDir, privateFile, tightenIfPresent } from './data-dir.js';
import { type DataKeys, loadDataKeys, open, seal } from './data-keys.js';
import { chainHash, GENESIS_HASH } from './log-chain.js';
import {
  type LogHead,
  openAnchor,
  openHead,
  openVerifyRun,
  sealAnchor,
  sealHead,
  sealVerifyRun,
} from './log-seal.js';
import { verifyLog } from './log-verify.js';
import { readWitness, witnessPath, writeWitness } from './log-witness.js';
import type {
  AdminRecord,
  AgentRecord,
  DeviceGrantRecord,
  GatewayStore,
  KeyRecord,
  LogQuery,
  LogRecord,
  LogSearch,
  LogSummary,
  MinuteCount,
  NewLogRecord,
  NewWebhookDelivery,
  Outcome,
  PurgeInfo,
  SessionRecord,
  VerifyResult,
  VerifyRun,
  WebhookAttemptPatch,
  WebhookDeliveryRecord,
  WebhookRecord,
} from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS agents (
  id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  name TEXT NOT NULL,
  runtime TEXT NOT NULL,
  version TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  instance TEXT
);
CREATE TABLE IF NOT EXISTS log (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  ts INTEGER NOT NULL,
  kind TEXT NOT NULL,
  key_id TEXT,
  agent_id TEXT,
  client_ip TEXT,
  method TEXT,
  url_hash TEXT,
  host TEXT,
  url TEXT,
  entropy REAL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  status INTEGER NOT NULL,
  bytes_in INTEGER NOT NULL,
  bytes_out INTEGER NOT NULL,
  duration_ms REAL NOT NULL,
  signature TEXT,
  tool TEXT,
  args_digest TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_ts ON log (ts);
CREATE INDEX IF NOT EXISTS log_agent ON log (agent_id, seq);
CREATE INDEX IF NOT EXISTS log_key ON log (key_id, seq);
CREATE INDEX IF NOT EXISTS log_outcome ON log (outcome, seq);
CREATE INDEX IF NOT EXISTS log_host ON log (host, seq);
CREATE INDEX IF NOT EXISTS agents_expires ON agents (expires_at);
CREATE INDEX IF NOT EXISTS agents_name ON agents (name);
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS admins (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY,
  admin_id TEXT NOT NULL,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS device_grants (
  device_code_hash TEXT PRIMARY KEY,
  user_code TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  requester_ip TEXT NOT NULL,
  requester_agent TEXT NOT NULL,
  device_name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  interval_seconds INTEGER NOT NULL,
  last_poll_at INTEGER,
  status TEXT NOT NULL,
  decided_by TEXT,
  decided_at INTEGER,
  key_id TEXT,
  sealed_credential BLOB
);
`;

interface LogRow {
  seq: number;
  id: string;
  ts: number;
  kind: string;
  key_id: string | null;
  agent_id: string | null;
  client_ip: string | null;
  method: string | null;
  url_hash: string | null;
  host: string | null;
  url: string | null;
  entropy: number | null;
  outcome: string;
  reason: string;
  status: number;
  bytes_in: number;
  bytes_out: number;
  duration_ms: number;
  signature: string | null;
  tool: string | null;
  args_digest: string | null;
  prev_hash: string;
  hash: string;
}

function rowToRecord(row: LogRow): LogRecord {
  return {
    seq: row.seq,
    id: row.id,
    ts: row.ts,
    kind: row.kind as LogRecord['kind'],
    keyId: row.key_id,
    agentId: row.agent_id,
    clientIp: row.client_ip,
    method: row.method,
    urlHash: row.url_hash,
    host: row.host,
    url: row.url,
    entropy: row.entropy,
    outcome: row.outcome as LogRecord['outcome'],
    reason: row.reason,
    status: row.status,
    bytesIn: row.bytes_in,
    bytesOut: row.bytes_out,
    durationMs: row.duration_ms,
    signature: row.signature,
    tool: row.tool,
    argsDigest: row.args_digest,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

interface KeyRow {
  id: string;
  name: string;
  secret: Buffer;
  created_at: number;
  revoked_at: number | null;
}

interface AdminRow {
  id: string;
  username: string;
  password_hash: string;
  created_at: number;
}

function adminRecord(row: AdminRow): AdminRecord {
  return { id: row.id, username: row.username, passwordHash: row.password_hash, createdAt: row.created_at };
}

interface GrantRow {
  device_code_hash: string;
  user_code: string;
  client_id: string;
  scope: string;
  requester_ip: string;
  requester_agent: string;
  device_name: string;
  created_at: number;
  expires_at: number;
  interval_seconds: number;
  last_poll_at: number | null;
  status: string;
  decided_by: string | null;
  decided_at: number | null;
  key_id: string | null;
  sealed_credential: Buffer | null;
}

function grantRecord(row: GrantRow): DeviceGrantRecord {
  return {
    deviceCodeHash: row.device_code_hash,
    userCode: row.user_code,
    clientId: row.client_id,
    scope: row.scope,
    requesterIp: row.requester_ip,
    requesterAgent: row.requester_agent,
    deviceName: row.device_name,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    intervalSeconds: row.interval_seconds,
    lastPollAt: row.last_poll_at,
    status: row.status as DeviceGrantRecord['status'],
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    keyId: row.key_id,
    sealedCredential: row.sealed_credential,
  };
}

function agentRecord(row: Record<string, unknown>): AgentRecord {
  return {
    id: row.id as string,
    keyId: row.key_id as string,
    name: row.name as string,
    runtime: row.runtime as string,
    version: row.version as string,
    host: row.host as string,
    pid: row.pid as number | null,
    instance: (row.instance as string | null) ?? null,
    createdAt: row.created_at as number,
    expiresAt: row.expires_at as number,
  };
}

/**
 * What versions before the agent `instance` had no column for: add it to an existing database
 * (CREATE TABLE IF NOT EXISTS leaves an old table as it is), then the index that finds an agent by it.
 */
function migrateAgents(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(agents)').all() as Array<{ name: string }>;
  if (!columns.some((c) => c.name === 'instance')) db.exec('ALTER TABLE agents ADD COLUMN instance TEXT');
  db.exec(
    'CREATE UNIQUE INDEX IF NOT EXISTS agents_instance ON agents (key_id, name, instance) WHERE instance IS NOT NULL',
  );
}

function keyRecord(row: KeyRow): KeyRecord {
  return { id: row.id, name: row.name, createdAt: row.created_at, revokedAt: row.revoked_at };
}

/** The file inside a data dir. */
export function databasePath(dataDir: string): string {
  return path.join(dataDir, 'sphyr.db');
}

export interface OpenOptions {
  /** Where to say what the operator should know (an open data dir, a file made private). */
  warn?: (message: string) => void;
  /**
   * Authenticate a log written by an older version (bare head seq and purge anchor) and write
   * log-head.json. The gateway does; `sphyr log` does not, so verify reports such a log as it is.
   */
  adoptLog?: boolean;
}

/** How often, at most, log-head.json is rewritten while records arrive. */
const WITNESS_EVERY_MS = 1000;

/**
 * The embedded store: one SQLite file in WAL mode. Every append commits before it returns, so a
 * response the gateway has finished sending always has its record, even after a SIGKILL.
 */
export class SqliteStore implements GatewayStore {
  readonly #db: Database.Database;
  readonly #keys: DataKeys;
  readonly #witnessFile: string;
  readonly #warn: (message: string) => void;
  /** The chain's tip, including records still waiting for their group commit. */
  #head: { seq: number; hash: string };
  /** The newest committed head not yet in log-head.json, and the timer that will write it. */
  #unwitnessed: LogHead | undefined;
  #witnessTimer: NodeJS.Timeout | undefined;
  readonly #agents = new Map<string, AgentRecord>();
  readonly #secretCache = new Map<string, { sealed: Buffer; secret: Uint8Array }>();
  readonly #stmts;
  readonly #appendTx: (records: LogRecord[]) => void;
  /** Records waiting for the next group commit, with the callers waiting on them. */
  #pending: Array<{ record: LogRecord; resolve: (r: LogRecord) => void; reject: (e: unknown) => void }> = [];

  private constructor(db: Database.Database, keys: DataKeys, dataDir: string, warn: (m: string) => void) {
    this.#db = db;
    this.#keys = keys;
    this.#witnessFile = witnessPath(dataDir);
    this.#warn = warn;
    this.#stmts = {
      insertLog:
        db.prepare(`INSERT INTO log (seq, id, ts, kind, key_id, agent_id, client_ip, method, url_hash, host,
        url, entropy, outcome, reason, status, bytes_in, bytes_out, duration_ms, signature, tool, args_digest,
        prev_hash, hash) VALUES (@seq, @id, @ts, @kind, @keyId, @agentId, @clientIp, @method, @urlHash, @host, @url,
        @entropy, @outcome, @reason, @status, @bytesIn, @bytesOut, @durationMs, @signature, @tool, @argsDigest,
        @prevHash, @hash)`),
      setMeta: db.prepare(
        'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
      ),
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?'),
      getKey: db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE id = ?'),
      getAgent: db.prepare('SELECT * FROM agents WHERE id = ?'),
      seqRange: db.prepare(
        'SELECT MIN(seq) AS first, MAX(seq) AS last FROM log INDEXED BY log_ts WHERE ts >= ? AND ts < ?',
      ),
      reasonCounts: db.prepare(
        `SELECT outcome, reason, COUNT(*) AS count FROM log
         WHERE seq BETWEEN @first AND @last AND ts >= @fromTs AND ts < @toTs
         GROUP BY outcome, reason ORDER BY count DESC, outcome, reason`,
      ),
      blockedHosts: db.prepare(
        `SELECT host, COUNT(*) AS count FROM log
         WHERE outcome = 'blocked' AND seq BETWEEN @first AND @last AND ts >= @fromTs AND ts < @toTs
           AND host IS NOT NULL
         GROUP BY host ORDER BY count DESC, host LIMIT @top`,
      ),
    };
    // The MAC'd head is committed with each batch, so deleting the newest records shows.
    this.#appendTx = db.transaction((records: LogRecord[]) => {
      for (const record of records) this.#stmts.insertLog.run(record);
      const last = records.at(-1) as LogRecord;
      this.#stmts.setMeta.run(
        'log_head',
        sealHead(keys.logMeta, { seq: last.seq, hash: last.hash, ts: Date.now() }),
      );
    });
    this.#head = this.#readHead();
  }

  /** Open (creating if needed) the store in `dataDir`; errors name the directory and what to do. */
  static async open(dataDir: string, options: OpenOptions = {}): Promise<SqliteStore> {
    const warn = options.warn ?? (() => {});
    await prepareDataDir(dataDir, warn);
    const file = databasePath(dataDir);
    let keys: DataKeys;
    let created: boolean;
    let db: Database.Database;
    try {
      ({ keys, created } = await loadDataKeys(dataDir, file));
      // SQLite gives -wal, -shm and -journal the database file's mode: make that 0600 first.
      for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
        const { tightenedFrom } = f === file ? await privateFile(f) : await tightenIfPresent(f);
        if (tightenedFrom) warn(`${f} was open to other users (mode ${tightenedFrom}); it is 0600 now`);
      }
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL survives a process kill (the OS holds the WAL); only power loss can drop the tail.
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
      migrateAgents(db);
      db.exec(WEBHOOK_SCHEMA);
    } catch (error) {
      if (error instanceof SphyrConfigError) throw error;
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new SphyrConfigError(
        'data_dir_unwritable',
        `data dir ${dataDir} is not writable (${code}); fix its permissions or choose another with --data-dir`,
        { cause: error },
      );
    }
    const store = new SqliteStore(db, keys, dataDir, warn);
    const foreign = options.adoptLog ? store.foreignSchema() : [];
    if (foreign.length > 0) {
      db.close();
      throw new SphyrConfigError(
        'foreign_schema',
        `${file} holds ${foreign.join(', ')}, which the gateway never creates: someone altered it outside the gateway. ` +
          'Inspect it, drop them (sqlite3 sphyr.db "DROP TRIGGER name"), then run: sphyr log verify',
      );
    }
    if (options.adoptLog) store.#warnOnMissingNewest();
    if ((created || options.adoptLog) && readWitness(store.#witnessFile) === undefined) store.#adoptLog();
    return store;
  }

  #meta(name: string): string | undefined {
    return this.#stmts.getMeta.get(name)?.value;
  }

  /**
   * Where the next record chains from: the newest of the last row and every authentic head, so
   * records deleted from the end stay a visible gap instead of being overwritten by new ones.
   * A bare head seq or anchor counts only in a log no version with MACs has written to.
   */
  /** The newest record the file holds (its chain position), or the genesis. */
  #committedHead(): { seq: number; hash: string } {
    const last = this.#db.prepare('SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1').get() as
      | { seq: number; hash: string }
      | undefined;
    return last ?? this.#readHead();
  }

  /**
   * Schema objects sphyr.db holds that the gateway never creates: a trigger or view can make the
   * gateway's own writes fail or lie selectively, so the gateway refuses to start with one and
   * `log verify` reports it.
   */
  foreignSchema(): string[] {
    const rows = this.#db
      .prepare("SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view') ORDER BY name")
      .all() as Array<{ type: string; name: string }>;
    return rows.map((r) => `${r.type} ${JSON.stringify(r.name)}`);
  }

  #readHead(): { seq: number; hash: string } {
    const last = this.#db.prepare('SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1').get() as
      | { seq: number; hash: string }
      | undefined;
    let head = last ?? { seq: 0, hash: GENESIS_HASH };
    const consider = (c: { seq: number; hash: string } | undefined) => {
      if (c && c.seq > head.seq) head = { seq: c.seq, hash: c.hash };
    };
    const meta = openHead(this.#keys.logMeta, this.#meta('log_head'));
    const witness = openHead(this.#keys.logMeta, readWitness(this.#witnessFile)?.trim());
    const anchor = openAnchor(this.#keys.logMeta, this.#meta('purge_anchor'));
    for (const c of [meta, witness, anchor]) if (c.state === 'ok') consider(c.value);
    if (meta.state === 'absent' && witness.state === 'absent') {
      const raw = this.#meta('purge_anchor');
      if (anchor.state === 'unauthenticated' && anchor.legacy && raw) consider(JSON.parse(raw));
      // An older version's head seq names no hash: the next record starts after a gap, as it should.
      const seq = Number(this.#meta('log_head_seq') ?? 0);
      if (Number.isSafeInteger(seq)) consider({ seq, hash: GENESIS_HASH });
    }
    return head;
  }

  /** Say so when records were deleted from the end of the log since the gateway last wrote it. */
  #warnOnMissingNewest(): void {
    const last = this.#db.prepare('SELECT MAX(seq) AS seq FROM log').get() as { seq: number | null };
    const anchor = openAnchor(this.#keys.logMeta, this.#meta('purge_anchor'));
    const from = Math.max(last.seq ?? 0, anchor.state === 'ok' ? anchor.value.seq : 0) + 1;
    if (from <= this.#head.seq) {
      this.#warn(
        `log records ${from}–${this.#head.seq} are missing from sphyr.db: they were deleted outside the gateway. Run: sphyr log verify`,
      );
    }
  }

  /**
   * Authenticate what the log relies on where nothing is MAC'd yet (a log from an older version,
   * or a fresh data dir) and write log-head.json. An older version's bare anchor keeps its point
   * but carries no times, since they were never recorded.
   */
  #adoptLog(): void {
    const now = Date.now();
    this.#db.transaction(() => {
      const anchor = openAnchor(this.#keys.logMeta, this.#meta('purge_anchor'));
      const raw = this.#meta('purge_anchor');
      if (anchor.state === 'unauthenticated' && anchor.legacy && raw) {
        const { seq, hash } = JSON.parse(raw) as { seq: number; hash: string };
        const lastPurge = this.#meta('last_purge');
        const purgedAt = lastPurge ? (JSON.parse(lastPurge) as PurgeInfo).at : now;
        this.#stmts.setMeta.run(
          'purge_anchor',
          sealAnchor(this.#keys.logMeta, { seq, hash, recordTs: null, purgedAt, retentionMs: null }),
        );
      }
      this.#stmts.setMeta.run('log_head', sealHead(this.#keys.logMeta, { ...this.#head, ts: now }));
      this.#db.prepare("DELETE FROM meta WHERE name = 'log_head_seq'").run();
    })();
    this.#writeWitness({ ...this.#head, ts: now });
  }

  #writeWitness(head: LogHead): void {
    try {
      writeWitness(this.#witnessFile, sealHead(this.#keys.logMeta, head));
    } catch (error) {
      this.#warn(
        `cannot write ${this.#witnessFile} (${(error as NodeJS.ErrnoException).code ?? error}); log verify cannot detect a rolled-back sphyr.db until it can`,
      );
    }
  }

  /** Note a committed head for log-head.json: written at most once a second, and on close. */
  #witness(head: LogHead): void {
    this.#unwitnessed = head;
    this.#witnessTimer ??= setTimeout(() => {
      this.#witnessTimer = undefined;
      this.#flushWitness();
    }, WITNESS_EVERY_MS).unref();
  }

  #flushWitness(): void {
    if (this.#witnessTimer) clearTimeout(this.#witnessTimer);
    this.#witnessTimer = undefined;
    const head = this.#unwitnessed;
    this.#unwitnessed = undefined;
    if (head) this.#writeWitness(head);
  }

  hashUrl(canonicalUrl: string): string {
    return createHmac('sha256', this.#keys.urlHash).update(canonicalUrl).digest('hex');
  }

  async createKey(id: string, name: string, secret: Uint8Array, now: number): Promise<KeyRecord> {
    const sealed = seal(this.#keys.secretBox, secret, id);
    this.#db
      .prepare('INSERT INTO keys (id, name, secret, created_at, revoked_at) VALUES (?, ?, ?, ?, NULL)')
      .run(id, name, sealed, now);
    return { id, name, createdAt: now, revokedAt: null };
  }

  async getKey(id: string): Promise<{ record: KeyRecord; secret: Uint8Array } | undefined> {
    const row = this.#stmts.getKey.get(id);
    if (!row) return undefined;
    // Decrypting is the costly part; the row itself is read every time so a revocation applies at once.
    const cached = this.#secretCache.get(id);
    let secret: Uint8Array;
    if (cached?.sealed.equals(row.secret)) {
      secret = cached.secret;
    } else {
      secret = open(this.#keys.secretBox, row.secret, id);
      this.#secretCache.set(id, { sealed: row.secret, secret });
    }
    return { record: keyRecord(row), secret };
  }

  async listKeys(): Promise<KeyRecord[]> {
    return (this.#db.prepare('SELECT * FROM keys ORDER BY created_at').all() as KeyRow[]).map(keyRecord);
  }

  async revokeKey(id: string, now: number): Promise<KeyRecord | undefined> {
    this.#db.prepare('UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now, id);
    const row = this.#stmts.getKey.get(id);
    return row ? keyRecord(row) : undefined;
  }

  async renameKey(id: string, name: string): Promise<KeyRecord | undefined> {
    this.#db.prepare('UPDATE keys SET name = ? WHERE id = ?').run(name, id);
    const row = this.#stmts.getKey.get(id);
    return row ? keyRecord(row) : undefined;
  }

  async rotateKey(id: string, secret: Uint8Array, _now: number): Promise<KeyRecord | undefined> {
    const sealed = seal(this.#keys.secretBox, secret, id);
    this.#db.prepare('UPDATE keys SET secret = ? WHERE id = ? AND revoked_at IS NULL').run(sealed, id);
    this.#secretCache.delete(id);
    const row = this.#stmts.getKey.get(id);
    return row ? keyRecord(row) : undefined;
  }

  sealSecret(plaintext: Uint8Array, aad: string): Buffer {
    return seal(this.#keys.secretBox, plaintext, aad);
  }

  openSecret(sealed: Buffer, aad: string): Uint8Array {
    return open(this.#keys.secretBox, sealed, aad);
  }

  async countAdmins(): Promise<number> {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM admins').get() as { n: number }).n;
  }

  async createAdmin(a: AdminRecord): Promise<void> {
    this.#db
      .prepare('INSERT INTO admins (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)')
      .run(a.id, a.username, a.passwordHash, a.createdAt);
  }

  async getAdminByUsername(username: string): Promise<AdminRecord | undefined> {
    const row = this.#db.prepare('SELECT * FROM admins WHERE username = ?').get(username) as
      | AdminRow
      | undefined;
    return row && adminRecord(row);
  }

  async getAdmin(id: string): Promise<AdminRecord | undefined> {
    const row = this.#db.prepare('SELECT * FROM admins WHERE id = ?').get(id) as AdminRow | undefined;
    return row && adminRecord(row);
  }

  async putSession(session: SessionRecord): Promise<void> {
    this.#db
      .prepare(
        'INSERT INTO sessions (id_hash, admin_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(session.idHash, session.adminId, session.csrfToken, session.createdAt, session.expiresAt);
  }

  async getSession(idHash: string): Promise<SessionRecord | undefined> {
    const row = this.#db.prepare('SELECT * FROM sessions WHERE id_hash = ?').get(idHash) as
      | { id_hash: string; admin_id: string; csrf_token: string; created_at: number; expires_at: number }
      | undefined;
    return (
      row && {
        idHash: row.id_hash,
        adminId: row.admin_id,
        csrfToken: row.csrf_token,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      }
    );
  }

  async deleteSession(idHash: string): Promise<void> {
    this.#db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash);
  }

  async purgeExpiredAuth(now: number): Promise<number> {
    // An approved login nobody collected: its secret never left the gateway, so its key goes too.
    // (The token endpoint still hands it over up to one polling interval after expiry.)
    this.#db
      .prepare(
        `UPDATE keys SET revoked_at = ? WHERE revoked_at IS NULL AND id IN (SELECT key_id FROM device_grants
        WHERE status = 'approved' AND key_id IS NOT NULL AND expires_at < ?)`,
      )
      .run(now, now - 5 * 60_000);
    this.#db
      .prepare(
        `UPDATE device_grants SET sealed_credential = NULL WHERE status = 'approved' AND expires_at < ?`,
      )
      .run(now - 5 * 60_000);
    const a = this.#db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(now).changes;
    // Grants stay a day past expiry so a late poll still gets expired_token, not invalid_grant.
    const b = this.#db
      .prepare('DELETE FROM device_grants WHERE expires_at < ?')
      .run(now - 86_400_000).changes;
    return a + b;
  }

  async putDeviceGrant(g: DeviceGrantRecord): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO device_grants (device_code_hash, user_code, client_id, scope, requester_ip, requester_agent,
        device_name, created_at, expires_at, interval_seconds, last_poll_at, status, decided_by, decided_at, key_id,
        sealed_credential) VALUES (@deviceCodeHash, @userCode, @clientId, @scope, @requesterIp, @requesterAgent,
        @deviceName, @createdAt, @expiresAt, @intervalSeconds, @lastPollAt, @status, @decidedBy, @decidedAt, @keyId,
        @sealedCredential)`,
      )
      .run(g);
  }

  async getDeviceGrantByDeviceCodeHash(hash: string): Promise<DeviceGrantRecord | undefined> {
    const row = this.#db.prepare('SELECT * FROM device_grants WHERE device_code_hash = ?').get(hash) as
      | GrantRow
      | undefined;
    return row && grantRecord(row);
  }

  async getDeviceGrantByUserCode(userCode: string): Promise<DeviceGrantRecord | undefined> {
    const row = this.#db.prepare('SELECT * FROM device_grants WHERE user_code = ?').get(userCode) as
      | GrantRow
      | undefined;
    return row && grantRecord(row);
  }

  async updateDeviceGrant(
    deviceCodeHash: string,
    patch: Partial<Omit<DeviceGrantRecord, 'deviceCodeHash' | 'userCode'>>,
  ): Promise<DeviceGrantRecord | undefined> {
    const current = await this.getDeviceGrantByDeviceCodeHash(deviceCodeHash);
    if (!current) return undefined;
    const next = { ...current, ...patch };
    this.#db
      .prepare(
        `UPDATE device_grants SET client_id = @clientId, scope = @scope, requester_ip = @requesterIp,
        requester_agent = @requesterAgent, device_name = @deviceName, created_at = @createdAt,
        expires_at = @expiresAt, interval_seconds = @intervalSeconds, last_poll_at = @lastPollAt, status = @status,
        decided_by = @decidedBy, decided_at = @decidedAt, key_id = @keyId, sealed_credential = @sealedCredential
        WHERE device_code_hash = @deviceCodeHash`,
      )
      .run(next);
    return next;
  }

  async putAgent(a: AgentRecord): Promise<void> {
    this.#insertAgent(a);
  }

  #insertAgent(a: AgentRecord): void {
    this.#db
      .prepare(
        `INSERT INTO agents (id, key_id, name, runtime, version, host, pid, created_at, expires_at, instance)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        a.id,
        a.keyId,
        a.name,
        a.runtime,
        a.version,
        a.host,
        a.pid,
        a.createdAt,
        a.expiresAt,
        a.instance ?? null,
      );
  }

  async registerAgent(a: AgentRecord): Promise<AgentRecord> {
    const instance = a.instance ?? null;
    if (instance === null) {
      this.#insertAgent(a);
      return { ...a, instance };
    }
    // One transaction: two registrations of one instance at once still make one agent.
    const renewed = this.#db.transaction(() => {
      const row = this.#db
        .prepare('SELECT * FROM agents WHERE key_id = ? AND name = ? AND instance = ?')
        .get(a.keyId, a.name, instance) as Record<string, unknown> | undefined;
      if (!row) {
        this.#insertAgent(a);
        return { ...a, instance };
      }
      const { runtime, version, host, pid, expiresAt } = a;
      const next = { ...agentRecord(row), runtime, version, host, pid, expiresAt };
      this.#db
        .prepare('UPDATE agents SET runtime = ?, version = ?, host = ?, pid = ?, expires_at = ? WHERE id = ?')
        .run(next.runtime, next.version, next.host, next.pid, next.expiresAt, next.id);
      return next;
    })();
    this.#agents.set(renewed.id, renewed);
    return renewed;
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    // An agent changes only through registerAgent, which refreshes this cache: a hit needs no query.
    const cached = this.#agents.get(id);
    if (cached) return cached;
    const row = this.#stmts.getAgent.get(id) as Record<string, unknown> | undefined;
    if (!row) return undefined;
    const agent = agentRecord(row);
    if (this.#agents.size >= 10_000) this.#agents.clear();
    this.#agents.set(id, agent);
    return agent;
  }

  /**
   * Chain the record now, commit it with whatever else arrived in the same turn of the event loop
   * (group commit), and resolve only once it is durable. Callers release their response after
   * that, so a finished response always has its record, and a busy gateway pays for one commit
   * per batch instead of one per request.
   */
  append(record: NewLogRecord): Promise<LogRecord> {
    const seq = this.#head.seq + 1;
    const prevHash = this.#head.hash;
    const full: LogRecord = {
      ...record,
      seq,
      prevHash,
      hash: chainHash(this.#keys.logChain, seq, prevHash, record),
    };
    this.#head = { seq, hash: full.hash };
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(() => this.#flush());
      this.#pending.push({ record: full, resolve, reject });
    });
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    try {
      this.#appendTx(batch.map((p) => p.record));
      const last = (batch.at(-1) as (typeof batch)[number]).record;
      this.#witness({ seq: last.seq, hash: last.hash, ts: Date.now() });
    } catch (error) {
      // Their requests may have gone out already: leave these numbers unused, so `log verify` reports
      // them missing, and chain the next record to the newest one the file holds. A write that fails
      // on some records only (a trigger planted in sphyr.db) can hide nothing that way.
      const first = (batch[0] as (typeof batch)[number]).record.seq;
      const last = (batch.at(-1) as (typeof batch)[number]).record.seq;
      const committed = this.#committedHead();
      this.#head = { seq: last, hash: committed.hash };
      this.#unwitnessed = undefined;
      this.#writeWitness({ seq: last, hash: committed.hash, ts: Date.now() });
      const foreign = this.foreignSchema();
      this.#warn(
        `could not write log record${first === last ? ` ${first}` : `s ${first}–${last}`} (${(error as Error).message}); ` +
          `they will show as missing in sphyr log verify${foreign.length > 0 ? `. sphyr.db was altered outside the gateway: ${foreign.join(', ')}` : ''}`,
      );
      for (const p of batch) p.reject(error);
      return;
    }
    for (const p of batch) p.resolve(p.record);
  }

  async query(q: LogQuery): Promise<LogRecord[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: q.limit };
    if (q.beforeSeq !== undefined) {
      where.push('seq < @beforeSeq');
      params.beforeSeq = q.beforeSeq;
    }
    if (q.agentId !== undefined) {
      where.push('agent_id = @agentId');
      params.agentId = q.agentId;
    }
    if (q.keyId !== undefined) {
      where.push('key_id = @keyId');
      params.keyId = q.keyId;
    }
    const sql = `SELECT * FROM log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`;
    return (this.#db.prepare(sql).all(params) as LogRow[]).map(rowToRecord);
  }

  async verify(): Promise<VerifyResult> {
    const result = this.#verify();
    this.#noteVerify(result);
    return result;
  }

  /** Keep the result for the console's overview; a store that cannot be written still verified. */
  #noteVerify(result: VerifyResult): void {
    const [first] = result.problems;
    const run: VerifyRun = {
      at: Date.now(),
      ok: result.ok,
      checked: result.checked,
      firstSeq: result.firstSeq,
      lastSeq: result.lastSeq,
      problems: result.problems.length,
      brokenAt: first?.seq ?? null,
      problem: first?.message ?? null,
    };
    try {
      this.#stmts.setMeta.run('last_verify', sealVerifyRun(this.#keys.logMeta, run));
    } catch (error) {
      this.#warn(`could not record the verify result in sphyr.db (${(error as Error).message})`);
    }
  }

  async lastVerify(): Promise<
    { state: 'absent' } | { state: 'ok'; run: VerifyRun } | { state: 'unauthenticated' }
  > {
    const opened = openVerifyRun(this.#keys.logMeta, this.#meta('last_verify'));
    if (opened.state === 'ok') return { state: 'ok', run: opened.value };
    return { state: opened.state };
  }

  #verify(): VerifyResult {
    // The witness first: it is written after the commit it names, so the snapshot read next is at
    // least as new. Then one read transaction, so a running gateway's appends cannot skew the view.
    const witness = readWitness(this.#witnessFile);
    const foreign = this.foreignSchema();
    const result = this.#db.transaction(() =>
      verifyLog({
        chainKey: this.#keys.logChain,
        metaKey: this.#keys.logMeta,
        now: Date.now(),
        head: this.#meta('log_head'),
        legacyHeadSeq: this.#meta('log_head_seq'),
        anchor: this.#meta('purge_anchor'),
        witness,
        records: (function* (rows: Iterable<LogRow>) {
          for (const row of rows) yield rowToRecord(row);
        })(this.#db.prepare('SELECT * FROM log ORDER BY seq').iterate() as Iterable<LogRow>),
      }),
    )();
    if (foreign.length === 0) return result;
    const problem = {
      seq: null,
      message: `sphyr.db holds ${foreign.join(', ')}, which the gateway never creates: it can make records fail to be written or read back altered`,
    };
    return {
      ...result,
      ok: false,
      problems: [problem, ...result.problems],
      brokenAt: result.brokenAt,
      problem: result.problem ?? problem.message,
    };
  }

  async purgeBefore(cutoff: number, now = Date.now()): Promise<number> {
    const purge = this.#db.transaction((before: number) => {
      const last = this.#lastAuthenticBefore(before);
      let removed = 0;
      if (last) {
        // Purge only a prefix of the chain so the rest still verifies from the anchor, which says
        // (MAC'd) which record went, when, and under what retention.
        removed = this.#db.prepare('DELETE FROM log WHERE seq <= ?').run(last.seq).changes;
        this.#stmts.setMeta.run(
          'purge_anchor',
          sealAnchor(this.#keys.logMeta, {
            seq: last.seq,
            hash: last.hash,
            recordTs: last.ts,
            purgedAt: now,
            retentionMs: now - before,
          }),
        );
      }
      const info: PurgeInfo = { at: now, removed };
      this.#stmts.setMeta.run('last_purge', JSON.stringify(info));
      return removed;
    });
    return purge(cutoff);
  }

  /**
   * The newest record older than `before` whose hash proves its time: a row whose `ts` was
   * backdated in the file must not make the purge delete younger records under an authentic anchor.
   */
  #lastAuthenticBefore(before: number): LogRecord | undefined {
    const rows = this.#db
      .prepare('SELECT * FROM log WHERE ts < ? ORDER BY seq DESC')
      .iterate(before) as Iterable<LogRow>;
    for (const row of rows) {
      const record = rowToRecord(row);
      if (chainHash(this.#keys.logChain, record.seq, record.prevHash, record) === record.hash) return record;
    }
    return undefined;
  }

  async listAgents(options: { since: number; limit?: number }): Promise<AgentRecord[]> {
    const rows = this.#db
      .prepare('SELECT * FROM agents WHERE expires_at >= ? ORDER BY created_at DESC LIMIT ?')
      .all(options.since, options.limit ?? 200) as Record<string, unknown>[];
    return rows.map(agentRecord);
  }

  async searchLog(q: LogSearch): Promise<LogRecord[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: q.limit };
    const add = (clause: string, name: string, value: unknown) => {
      if (value === undefined) return;
      where.push(clause);
      params[name] = value;
    };
    add('seq < @beforeSeq', 'beforeSeq', q.beforeSeq);
    add('seq > @afterSeq', 'afterSeq', q.afterSeq);
    add('outcome = @outcome', 'outcome', q.outcome);
    add('reason = @reason', 'reason', q.reason);
    add('agent_id = @agentId', 'agentId', q.agentId);
    add('agent_id IN (SELECT id FROM agents WHERE name = @agentName)', 'agentName', q.agentName);
    add('key_id = @keyId', 'keyId', q.keyId);
    add('key_id IN (SELECT id FROM keys WHERE name = @keyName)', 'keyName', q.keyName);
    add('host = @host', 'host', q.host);
    add('ts >= @fromTs', 'fromTs', q.fromTs);
    add('ts < @toTs', 'toTs', q.toTs);
    const sql = `SELECT * FROM log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`;
    let stmt = this.#searchStmts.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      this.#searchStmts.set(sql, stmt);
    }
    return (stmt.all(params) as LogRow[]).map(rowToRecord);
  }

  readonly #searchStmts = new Map<string, Database.Statement>();

  async getLogRecord(seq: number): Promise<LogRecord | undefined> {
    const row = this.#db.prepare('SELECT * FROM log WHERE seq = ?').get(seq) as LogRow | undefined;
    return row && rowToRecord(row);
  }

  async countByMinute(since: number): Promise<MinuteCount[]> {
    const rows = this.#db
      .prepare(
        'SELECT ts / 60000 AS m, outcome, COUNT(*) AS n FROM log WHERE ts >= ? GROUP BY m, outcome ORDER BY m',
      )
      .all(Math.floor(since)) as { m: number; outcome: string; n: number }[];
    return rows.map((r) => ({
      minute: r.m * 60000,
      outcome: r.outcome as MinuteCount['outcome'],
      count: r.n,
    }));
  }

  async summarizeLog(fromTs: number, toTs: number, top: number): Promise<LogSummary> {
    return this.#db.transaction(() => {
      // Records are numbered in the order they were written, so the range's seqs bound a rowid
      // scan (log_ts covers the lookup); ts is checked again because a slow request is written late.
      const bounds = this.#stmts.seqRange.get(fromTs, toTs) as { first: number | null; last: number | null };
      if (bounds.first === null || bounds.last === null) return { reasons: [], blockedHosts: [] };
      const args = { first: bounds.first, last: bounds.last, fromTs, toTs, top };
      const reasons = this.#stmts.reasonCounts.all(args) as {
        outcome: Outcome;
        reason: string;
        count: number;
      }[];
      const blockedHosts = this.#stmts.blockedHosts.all(args) as { host: string; count: number }[];
      return { reasons, blockedHosts };
    })();
  }

  async lastPurge(): Promise<PurgeInfo | undefined> {
    const row = this.#stmts.getMeta.get('last_purge');
    return row ? (JSON.parse(row.value) as PurgeInfo) : undefined;
  }

  // ---------------------------------------------------------------- webhooks (DESIGN §3.9)

  async createWebhook(
    webhook: Pick<WebhookRecord, 'id' | 'url' | 'events' | 'createdAt'>,
    secret: Uint8Array,
  ): Promise<WebhookRecord> {
    const sealed = seal(this.#keys.secretBox, secret, `webhook:${webhook.id}`);
    this.#db
      .prepare(
        `INSERT INTO webhooks (id, url, events, secret, created_at, disabled_at, disabled_reason, consecutive_failures)
        VALUES (?, ?, ?, ?, ?, NULL, NULL, 0)`,
      )
      .run(webhook.id, webhook.url, JSON.stringify(webhook.events), sealed, webhook.createdAt);
    return { ...webhook, disabledAt: null, disabledReason: null, consecutiveFailures: 0 };
  }

  #webhookRow(id: string): WebhookRow | undefined {
    return this.#db.prepare('SELECT * FROM webhooks WHERE id = ?').get(id) as WebhookRow | undefined;
  }

  async getWebhook(id: string): Promise<{ record: WebhookRecord; secret: Uint8Array } | undefined> {
    const row = this.#webhookRow(id);
    if (!row) return undefined;
    return { record: webhookRecord(row), secret: open(this.#keys.secretBox, row.secret, `webhook:${id}`) };
  }

  async listWebhooks(): Promise<WebhookRecord[]> {
    return (this.#db.prepare('SELECT * FROM webhooks ORDER BY created_at, id').all() as WebhookRow[]).map(
      webhookRecord,
    );
  }

  async rotateWebhookSecret(id: string, secret: Uint8Array): Promise<WebhookRecord | undefined> {
    const sealed = seal(this.#keys.secretBox, secret, `webhook:${id}`);
    this.#db.prepare('UPDATE webhooks SET secret = ? WHERE id = ?').run(sealed, id);
    const row = this.#webhookRow(id);
    return row ? webhookRecord(row) : undefined;
  }

  async setWebhookDisabled(
    id: string,
    disabledAt: number | null,
    reason: string | null,
  ): Promise<WebhookRecord | undefined> {
    this.#db.transaction(() => {
      if (disabledAt === null) {
        this.#db
          .prepare(
            'UPDATE webhooks SET disabled_at = NULL, disabled_reason = NULL, consecutive_failures = 0 WHERE id = ?',
          )
          .run(id);
      } else {
        this.#db
          .prepare('UPDATE webhooks SET disabled_at = ?, disabled_reason = ? WHERE id = ?')
          .run(disabledAt, reason, id);
        this.#db
          .prepare(
            `UPDATE webhook_deliveries SET status = 'dead', next_attempt_at = NULL,
            last_error = COALESCE(last_error || '; ', '') || 'webhook disabled'
            WHERE webhook_id = ? AND status IN ('pending', 'failed')`,
          )
          .run(id);
      }
    })();
    const row = this.#webhookRow(id);
    return row ? webhookRecord(row) : undefined;
  }

  async noteWebhookAttempt(id: string, success: boolean): Promise<number> {
    const row = this.#db
      .prepare(
        success
          ? 'UPDATE webhooks SET consecutive_failures = 0 WHERE id = ? RETURNING consecutive_failures'
          : 'UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE id = ? RETURNING consecutive_failures',
      )
      .get(id) as { consecutive_failures: number } | undefined;
    return row?.consecutive_failures ?? 0;
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM webhook_deliveries WHERE webhook_id = ?').run(id);
      return this.#db.prepare('DELETE FROM webhooks WHERE id = ?').run(id).changes > 0;
    })();
  }

  async enqueueWebhookDelivery(d: NewWebhookDelivery): Promise<boolean> {
    const info = this.#db
      .prepare(
        `INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, status, attempts,
        next_attempt_at, last_attempt_at, last_status_code, last_error, created_at, delivered_at)
        VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, NULL, NULL, NULL, ?, NULL)`,
      )
      .run(d.id, d.webhookId, d.eventId, d.eventType, d.payload, d.createdAt, d.createdAt);
    return info.changes > 0;
  }

  async dueWebhookDeliveries(now: number, limit: number): Promise<WebhookDeliveryRecord[]> {
    return (
      this.#db
        .prepare(
          `SELECT d.* FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
          WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= ? AND w.disabled_at IS NULL
          ORDER BY d.next_attempt_at, d.created_at LIMIT ?`,
        )
        .all(now, limit) as DeliveryRow[]
    ).map(deliveryRecord);
  }

  async updateWebhookDelivery(id: string, patch: WebhookAttemptPatch): Promise<void> {
    this.#db
      .prepare(
        `UPDATE webhook_deliveries SET status = @status, attempts = @attempts, next_attempt_at = @nextAttemptAt,
        last_attempt_at = @lastAttemptAt, last_status_code = @lastStatusCode, last_error = @lastError,
        delivered_at = @deliveredAt WHERE id = @id`,
      )
      .run({ ...patch, id });
  }

  async listWebhookDeliveries(webhookId: string, limit: number): Promise<WebhookDeliveryRecord[]> {
    return (
      this.#db
        .prepare(
          'SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
        )
        .all(webhookId, limit) as DeliveryRow[]
    ).map(deliveryRecord);
  }

  async purgeWebhookDeliveriesBefore(cutoff: number): Promise<number> {
    return this.#db
      .prepare("DELETE FROM webhook_deliveries WHERE created_at < ? AND status IN ('delivered', 'dead')")
      .run(cutoff).changes;
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    this.#flush();
    this.#flushWitness();
    this.#db.close();
  }
}

const WEBHOOK_SCHEMA = `
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  secret BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  disabled_at INTEGER,
  disabled_reason TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id TEXT PRIMARY KEY,
  webhook_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_attempt_at INTEGER,
  last_status_code INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  delivered_at INTEGER,
  UNIQUE (webhook_id, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at);
`;

interface WebhookRow {
  id: string;
  url: string;
  events: string;
  secret: Buffer;
  created_at: number;
  disabled_at: number | null;
  disabled_reason: string | null;
  consecutive_failures: number;
}

function webhookRecord(row: WebhookRow): WebhookRecord {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
    disabledReason: row.disabled_reason,
    consecutiveFailures: row.consecutive_failures,
  };
}

interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: number | null;
  last_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

function deliveryRecord(row: DeliveryRow): WebhookDeliveryRecord {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type,
    payload: row.payload,
    status: row.status as WebhookDeliveryRecord['status'],
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastAttemptAt: row.last_attempt_at,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}
