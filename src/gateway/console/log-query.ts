/**
 * @module The request log's filters (DESIGN §3.7), shared by the log page and `GET /v1/console/log`:
 * parsed from a query string, validated, and turned back into one for paging links.
 */

import { AGENT_ID_TEXT, KEY_ID_TEXT } from '../ids.js';
import type { GatewayStore, LogRecord, LogSearch, Outcome } from '../store/types.js';
import type { Names } from './names.js';

export const OUTCOMES: readonly Outcome[] = ['allowed', 'blocked', 'rate_limited', 'unauthorized', 'error'];
export const PAGE_SIZE = 50;
export const MAX_LIMIT = 200;

export interface LogFilter {
  outcome?: Outcome;
  reason?: string;
  /** An agent id (`agt_…`), or a name: every agent of that name. */
  agent?: string;
  /** A key id (`key_…`), or a key's name. */
  key?: string;
  host?: string;
  /** ms since the epoch; from ≤ ts < to. */
  from?: number;
  to?: number;
}

export interface ParsedLogQuery {
  filter: LogFilter;
  before?: number;
  after?: number;
  limit: number;
  /** Problems with the input, in words, for the page or the API error. */
  errors: string[];
}

/** An id or a name: any text a person can type, without control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const NAME_OR_ID_TEXT = /^[^\u0000-\u001f\u007f]{1,200}$/;
const REASON_TEXT = /^[a-z0-9_]{1,100}$/;
const HOST_TEXT = /^[A-Za-z0-9_.:[\]-]{1,300}$/;

/**
 * A time from a form or a script: ms since the epoch, an ISO time with a zone, or a
 * `datetime-local` value ("2025-01-02T03:04"), which the console reads as UTC.
 */
export function parseTime(text: string): number | undefined {
  const value = text.trim();
  if (/^\d{1,15}$/.test(value)) return Number(value);
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)?(Z|[+-]\d{2}:\d{2})?$/.test(value)) {
    return undefined;
  }
  const zoned = /(Z|[+-]\d{2}:\d{2})$/.test(value) ? value : `${value.replace(' ', 'T')}Z`;
  const ms = Date.parse(zoned.length === 11 ? `${value}T00:00Z` : zoned);
  return Number.isFinite(ms) ? ms : undefined;
}

/** `datetime-local` form value (UTC) for a time. */
export function timeInputValue(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString().slice(0, 16);
}

function seqParam(params: URLSearchParams, name: string, errors: string[]): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,15}$/.test(raw)) {
    errors.push(`${name} must be a record number`);
    return undefined;
  }
  return Number(raw);
}

export function parseLogQuery(params: URLSearchParams, defaultLimit = PAGE_SIZE): ParsedLogQuery {
  const errors: string[] = [];
  const filter: LogFilter = {};
  const text = (name: string) => {
    const value = params.get(name)?.trim();
    return value ? value : undefined;
  };
  const outcome = text('outcome');
  if (outcome !== undefined) {
    if ((OUTCOMES as readonly string[]).includes(outcome)) filter.outcome = outcome as Outcome;
    else errors.push(`outcome must be one of ${OUTCOMES.join(', ')}`);
  }
  for (const [name, pattern] of [
    ['reason', REASON_TEXT],
    ['agent', NAME_OR_ID_TEXT],
    ['key', NAME_OR_ID_TEXT],
    ['host', HOST_TEXT],
  ] as const) {
    const value = text(name);
    if (value === undefined) continue;
    if (pattern.test(value)) filter[name] = name === 'host' ? value.toLowerCase() : value;
    else errors.push(`${name} has characters that cannot appear in it`);
  }
  for (const name of ['from', 'to'] as const) {
    const value = text(name);
    if (value === undefined) continue;
    const ms = parseTime(value);
    if (ms === undefined) errors.push(`${name} must be a time like 2025-01-31T13:45 (UTC)`);
    else filter[name] = ms;
  }
  const before = seqParam(params, 'before', errors);
  const after = seqParam(params, 'after', errors);
  let limit = defaultLimit;
  const rawLimit = text('limit');
  if (rawLimit !== undefined) {
    const n = Number(rawLimit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) errors.push(`limit must be 1 to ${MAX_LIMIT}`);
    else limit = n;
  }
  return { filter, before, after, limit, errors };
}

/** The filter as query parameters (for paging links and the live updates' poll). */
export function filterParams(filter: LogFilter): URLSearchParams {
  const params = new URLSearchParams();
  if (filter.outcome) params.set('outcome', filter.outcome);
  if (filter.reason) params.set('reason', filter.reason);
  if (filter.agent) params.set('agent', filter.agent);
  if (filter.key) params.set('key', filter.key);
  if (filter.host) params.set('host', filter.host);
  if (filter.from !== undefined) params.set('from', timeInputValue(filter.from));
  if (filter.to !== undefined) params.set('to', timeInputValue(filter.to));
  return params;
}

/** Newest first, keyset paging by seq. */
export function searchLog(
  store: GatewayStore,
  query: Pick<ParsedLogQuery, 'filter' | 'before' | 'after' | 'limit'>,
): Promise<LogRecord[]> {
  const { filter } = query;
  const search: LogSearch = { limit: query.limit };
  if (query.before !== undefined) search.beforeSeq = query.before;
  if (query.after !== undefined) search.afterSeq = query.after;
  if (filter.outcome) search.outcome = filter.outcome;
  if (filter.reason) search.reason = filter.reason;
  if (filter.agent) {
    if (AGENT_ID_TEXT.test(filter.agent)) search.agentId = filter.agent;
    else search.agentName = filter.agent;
  }
  if (filter.key) {
    if (KEY_ID_TEXT.test(filter.key)) search.keyId = filter.key;
    else search.keyName = filter.key;
  }
  if (filter.host) search.host = filter.host;
  if (filter.from !== undefined) search.fromTs = filter.from;
  if (filter.to !== undefined) search.toTs = filter.to;
  return store.searchLog(search);
}

/** A record as the console API shows it, with the names of its agent and key where known. */
export function recordJson(r: LogRecord, names: Names): Record<string, unknown> {
  const agent = names.agent(r.agentId);
  return {
    seq: r.seq,
    id: r.id,
    time: new Date(r.ts).toISOString(),
    kind: r.kind,
    keyId: r.keyId,
    keyName: names.key(r.keyId)?.name ?? null,
    agentId: r.agentId,
    agentName: agent?.name ?? null,
    agentHost: agent?.host ?? null,
    clientIp: r.clientIp,
    method: r.method,
    host: r.host,
    url: r.url,
    urlHash: r.urlHash,
    entropy: r.entropy,
    outcome: r.outcome,
    reason: r.reason,
    status: r.status,
    bytesIn: r.bytesIn,
    bytesOut: r.bytesOut,
    durationMs: r.durationMs,
    tool: r.tool,
    signature: r.signature,
    prevHash: r.prevHash,
    hash: r.hash,
  };
}
