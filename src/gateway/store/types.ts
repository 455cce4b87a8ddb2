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
  /**
   * The client's stable name for this agent on its machine (POST /v1/agents `instance`): a restart
   * that sends it again is the same agent. Null for clients that do not send one.
   */
  instance?: string | null;
  createdAt: number;
  expiresAt: number;
}

export type LogKind = 'relay' | 'check' | 'tool' | 'refusal' | 'tunnel';
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

/** A console search of the log (DESIGN §3.7): newest first, keyset paging by seq, never OFFSET. */
export interface LogSearch {
  limit: number;
  /** Only records with seq < beforeSeq (older pages). */
  beforeSeq?: number;
  /** Only records with seq > afterSeq (live updates). */
  afterSeq?: number;
  outcome?: Outcome;
  reason?: string;
  agentId?: string;
  /** Records of every agent with this name (one name may run on many machines). */
  agentName?: string;
  keyId?: string;
  /** Records signed with any key of this name. */
  keyName?: string;
  host?: string;
  /** Time range on `ts` (ms): fromTs ≤ ts < toTs. */
  fromTs?: number;
  toTs?: number;
}

/** Records per minute and outcome, for the console chart. */
export interface MinuteCount {
  /** Start of the minute (ms). */
  minute: number;
  outcome: Outcome;
  count: number;
}

/** What the log holds for one stretch of time (the console's overview): counts, never records. */
export interface LogSummary {
  /** Records per outcome and reason, most first; the outcome totals are their sums. */
  reasons: { outcome: Outcome; reason: string; count: number }[];
  /** Hosts of `blocked` records, most first, at most the `top` asked for. */
  blockedHosts: { host: string; count: number }[];
}

/** The last `verify()`, kept (MAC'd) so a page can show the chain's state without re-checking it. */
export interface VerifyRun {
  at: number;
  ok: boolean;
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  problems: number;
  /** The first problem, when !ok. */
  brokenAt: number | null;
  problem: string | null;
}

/** The last retention purge: when it ran and how many records it removed. */
export interface PurgeInfo {
  at: number;
  removed: number;
}

/** One thing `verify` found wrong; `seq` is the record it concerns (the first of a missing range). */
export interface VerifyProblem {
  seq: number | null;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Records whose hash and link checked out. */
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Records 1 to this were removed by retention purges (0: none). */
  purgedThrough: number;
  /** Set when !ok: the first problem's record and message. */
  brokenAt?: number;
  problem?: string;
  /** Everything found wrong, in log order (empty when ok). */
  problems: VerifyProblem[];
  /** What could not be checked and why (a log from an older version, a missing log-head.json). */
  notes: string[];
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
  /**
   * Register an agent: with an `instance`, the agent the same key already has under that name and
   * instance (live or expired) is renewed instead — its id and history kept, its expiry, pid,
   * version, runtime and host updated — and returned; otherwise `agent` is stored as a new one.
   */
  registerAgent(agent: AgentRecord): Promise<AgentRecord>;
  getAgent(id: string): Promise<AgentRecord | undefined>;
  /** Agents registered or still live since `since` (ms), newest first, at most `limit`. */
  listAgents(options: { since: number; limit?: number }): Promise<AgentRecord[]>;
}

export interface LogStore {
  append(record: NewLogRecord): Promise<LogRecord>;
  query(query: LogQuery): Promise<LogRecord[]>;
  verify(): Promise<VerifyResult>;
  /** Delete records older than `cutoff` (ms) at time `now` (ms, default the clock); returns how many went. */
  purgeBefore(cutoff: number, now?: number): Promise<number>;
  /** Filtered, newest-first search for the console. */
  searchLog(search: LogSearch): Promise<LogRecord[]>;
  getLogRecord(seq: number): Promise<LogRecord | undefined>;
  /** Per-minute counts by outcome for records with ts ≥ since. */
  countByMinute(since: number): Promise<MinuteCount[]>;
  /** The last retention purge, if one ran. */
  lastPurge(): Promise<PurgeInfo | undefined>;
  /**
   * Counts for records with fromTs ≤ ts < toTs: per outcome and reason, and the `top` most
   * blocked hosts. Costs in proportion to the records in the range, not the log.
   */
  summarizeLog(fromTs: number, toTs: number, top: number): Promise<LogSummary>;
  /** The last `verify()`'s result: absent if none ran, `unauthenticated` if its record was forged. */
  lastVerify(): Promise<{ state: 'absent' } | { state: 'ok'; run: VerifyRun } | { state: 'unauthenticated' }>;
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

export interface GatewayStore extends KeyStore, AgentStore, LogStore, AuthStore, WebhookStore {
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

/** A webhook endpoint (DESIGN §3.9). Its secret is stored sealed and never listed. */
export interface WebhookRecord {
  /** `wh_…` */
  id: string;
  url: string;
  /** Event types it receives. */
  events: string[];
  createdAt: number;
  disabledAt: number | null;
  disabledReason: string | null;
  /** Failed attempts in a row (any delivery); reset by a success or by re-enabling. */
  consecutiveFailures: number;
}

/**
 * `pending`: not tried yet; `failed`: the last attempt failed and another is scheduled;
 * `delivered`: a 2xx came back; `dead`: given up (retries exhausted, webhook disabled or refused).
 */
export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed' | 'dead';

export interface WebhookDeliveryRecord {
  id: string;
  webhookId: string;
  /** The event id: the Standard Webhooks `webhook-id`, unique per webhook. */
  eventId: string;
  eventType: string;
  /** The exact JSON body sent on every attempt. */
  payload: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

export type NewWebhookDelivery = Pick<
  WebhookDeliveryRecord,
  'id' | 'webhookId' | 'eventId' | 'eventType' | 'payload' | 'createdAt'
>;

/** What one attempt changed on a delivery. */
export type WebhookAttemptPatch = Pick<
  WebhookDeliveryRecord,
  'status' | 'attempts' | 'nextAttemptAt' | 'lastAttemptAt' | 'lastStatusCode' | 'lastError' | 'deliveredAt'
>;

/** Webhook endpoints and their persisted delivery queue (DESIGN §3.9). */
export interface WebhookStore {
  /** `secret` (the 64 hex chars as ASCII bytes) is sealed with the data key, bound to `webhook:<id>`. */
  createWebhook(
    webhook: Pick<WebhookRecord, 'id' | 'url' | 'events' | 'createdAt'>,
    secret: Uint8Array,
  ): Promise<WebhookRecord>;
  getWebhook(id: string): Promise<{ record: WebhookRecord; secret: Uint8Array } | undefined>;
  listWebhooks(): Promise<WebhookRecord[]>;
  /** A new secret; the old one is gone at once (pending retries sign with the new one). */
  rotateWebhookSecret(id: string, secret: Uint8Array): Promise<WebhookRecord | undefined>;
  /**
   * Disable (with a reason; outstanding deliveries become `dead`) or, with `disabledAt` null,
   * re-enable (failure count back to 0).
   */
  setWebhookDisabled(
    id: string,
    disabledAt: number | null,
    reason: string | null,
  ): Promise<WebhookRecord | undefined>;
  /** Success resets the count, failure adds one; returns the new count. */
  noteWebhookAttempt(id: string, success: boolean): Promise<number>;
  /** Removes the webhook and its deliveries; false when there was none. */
  deleteWebhook(id: string): Promise<boolean>;
  /** Queue a delivery due now; false when this event is already queued for this webhook. */
  enqueueWebhookDelivery(delivery: NewWebhookDelivery): Promise<boolean>;
  /** Pending/failed deliveries of enabled webhooks due at `now`, oldest first. */
  dueWebhookDeliveries(now: number, limit: number): Promise<WebhookDeliveryRecord[]>;
  updateWebhookDelivery(id: string, patch: WebhookAttemptPatch): Promise<void>;
  /** Newest first. */
  listWebhookDeliveries(webhookId: string, limit: number): Promise<WebhookDeliveryRecord[]>;
  /** Delete delivered/dead deliveries created before `cutoff`; returns how many went. */
  purgeWebhookDeliveriesBefore(cutoff: number): Promise<number>;
}
