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

export interface GatewayStore extends KeyStore, AgentStore, LogStore {
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
