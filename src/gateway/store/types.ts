/**
 * @module The gateway's storage contract. The embedded default is SQLite plus in-memory limiters
 * (DESIGN §6); a PostgreSQL/Redis implementation plugs in behind the same interfaces.
 */

export interface KeyRecord {
  id: string;
  name: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface AgentRecord {
  id: string;
  keyId: string;
  name: string;
  runtime: string;
  version: string;
  host: string;
  pid: number | null;
  createdAt: number;
  expiresAt: number;
}

export type LogKind = 'relay' | 'check' | 'tool' | 'refusal';
export type Outcome = 'allowed' | 'blocked' | 'rate_limited' | 'unauthorized' | 'error';

/** One record per relay, check, tool call and refusal (DESIGN §3.7). */
export interface NewLogRecord {
  id: string;
  ts: number;
  kind: LogKind;
  keyId: string | null;
  agentId: string | null;
  clientIp: string | null;
  method: string | null;
  urlHash: string | null;
  host: string | null;
  /** Only when the policy says so, with query values redacted. */
  url: string | null;
  entropy: number | null;
  outcome: Outcome;
  reason: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  signature: string | null;
  /** Tool-call facts for `kind: 'tool'` (tool name, argument digest), else null. */
  tool: string | null;
  argsDigest: string | null;
}

export interface LogRecord extends NewLogRecord {
  seq: number;
  prevHash: string;
  hash: string;
}

export interface LogQuery {
  limit: number;
  /** Only records with seq < beforeSeq (paging backwards). */
  beforeSeq?: number;
  agentId?: string;
  keyId?: string;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Set when !ok: the seq where the chain breaks and why. */
  brokenAt?: number;
  problem?: string;
}

export interface KeyStore {
  createKey(id: string, name: string, secret: Uint8Array, now: number): Promise<KeyRecord>;
  /** The key and its decrypted secret, or undefined when no such key exists. */
  getKey(id: string): Promise<{ record: KeyRecord; secret: Uint8Array } | undefined>;
  listKeys(): Promise<KeyRecord[]>;
  revokeKey(id: string, now: number): Promise<KeyRecord | undefined>;
}

export interface AgentStore {
  putAgent(agent: AgentRecord): Promise<void>;
  getAgent(id: string): Promise<AgentRecord | undefined>;
}

export interface LogStore {
  append(record: NewLogRecord): Promise<LogRecord>;
  query(query: LogQuery): Promise<LogRecord[]>;
  verify(): Promise<VerifyResult>;
  /** Delete records older than `cutoff` (ms); returns how many went. */
  purgeBefore(cutoff: number): Promise<number>;
}

/** A console account. The password is stored only as a scrypt hash (`scrypt$N$r$p$salt$hash`). */
export interface AdminRecord {
  id: string;
  username: string;
  passwordHash: string;
  createdAt: number;
}

/** A console session; only the SHA-256 of its cookie value is stored. */
export interface SessionRecord {
  idHash: string;
  adminId: string;
  /** The session's CSRF token (sent back in forms and the X-CSRF-Token header). */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export type DeviceGrantStatus = 'pending' | 'approved' | 'denied' | 'consumed';

/** One RFC 8628 device authorization (DESIGN §3.8). */
export interface DeviceGrantRecord {
  /** SHA-256 (hex) of the device_code; the code itself is never stored. */
  deviceCodeHash: string;
  /** XXXX-XXXX from BCDFGHJKLMNPQRSTVWXZ. */
  userCode: string;
  clientId: string;
  scope: string;
  /** Who asked: the requesting IP and User-Agent, shown on the approval page. */
  requesterIp: string;
  requesterAgent: string;
  /** A name for the device the client sent (e.g. its hostname), used to name the key. */
  deviceName: string;
  createdAt: number;
  expiresAt: number;
  /** Current polling interval in seconds (slow_down adds 5). */
  intervalSeconds: number;
  lastPollAt: number | null;
  status: DeviceGrantStatus;
  decidedBy: string | null;
  decidedAt: number | null;
  keyId: string | null;
  /** The new credential, sealed, until the token endpoint hands it over once; then null. */
  sealedCredential: Buffer | null;
}

/** Console accounts, sessions, device grants and key lifecycle (DESIGN §3.8). */
export interface AuthStore {
  countAdmins(): Promise<number>;
  createAdmin(admin: AdminRecord): Promise<void>;
  getAdminByUsername(username: string): Promise<AdminRecord | undefined>;
  getAdmin(id: string): Promise<AdminRecord | undefined>;
  putSession(session: SessionRecord): Promise<void>;
  getSession(idHash: string): Promise<SessionRecord | undefined>;
  deleteSession(idHash: string): Promise<void>;
  /** Remove sessions and device grants past their expiry (and a margin); returns how many went. */
  purgeExpiredAuth(now: number): Promise<number>;
  putDeviceGrant(grant: DeviceGrantRecord): Promise<void>;
  getDeviceGrantByDeviceCodeHash(hash: string): Promise<DeviceGrantRecord | undefined>;
  getDeviceGrantByUserCode(userCode: string): Promise<DeviceGrantRecord | undefined>;
  /** Update the listed fields of the grant; returns the new record. */
  updateDeviceGrant(
    deviceCodeHash: string,
    patch: Partial<Omit<DeviceGrantRecord, 'deviceCodeHash' | 'userCode'>>,
  ): Promise<DeviceGrantRecord | undefined>;
  renameKey(id: string, name: string): Promise<KeyRecord | undefined>;
  /** Give the key a new secret; the old one stops verifying at once. */
  rotateKey(id: string, secret: Uint8Array, now: number): Promise<KeyRecord | undefined>;
  /** Seal/open a secret with the data dir's key (AES-256-GCM), bound to `aad`. */
  sealSecret(plaintext: Uint8Array, aad: string): Buffer;
  openSecret(sealed: Buffer, aad: string): Uint8Array;
}

export interface GatewayStore extends KeyStore, AgentStore, LogStore, AuthStore {
  /** Keyed SHA-256 of a canonical URL, so equal URLs match without storing them. */
  hashUrl(canonicalUrl: string): string;
  close(): Promise<void>;
}

export interface RateLimitResult {
  allowed: boolean;
  /** Whole seconds until the next request would be allowed (0 when allowed). */
  retryAfterSeconds: number;
}

/** At most `limit` hits in any rolling `windowMs` window per key. */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult>;
}
