import { createHmac, timingSafeEqual } from 'node:crypto';
import type { VerifyRun } from './types.js';

/**
 * MACs over the two values `log verify` relies on besides the records themselves, keyed with the
 * log meta key (derived from master.key), so whoever can write sphyr.db but not read master.key
 * can neither forge them nor move them to another record: the head (the newest record when it was
 * written) and the purge anchor (the last record a retention purge removed).
 */

/** The newest record of the log: its seq and hash, and when the head was written. */
export interface LogHead {
  seq: number;
  hash: string;
  ts: number;
}

/** Where a retention purge cut the chain: the last removed record and the purge that removed it. */
export interface PurgeAnchor {
  seq: number;
  /** The removed record's hash: the `prev_hash` of the first record kept. */
  hash: string;
  /** When the removed record was written; null for an anchor adopted from an older version. */
  recordTs: number | null;
  purgedAt: number;
  /** The retention the purge applied; null for an anchor adopted from an older version. */
  retentionMs: number | null;
}

/** A value as read back: absent, authentic, or present but not made with the key (`claimedSeq` if readable). */
export type Opened<T> =
  | { state: 'absent' }
  | { state: 'ok'; value: T }
  | { state: 'unauthenticated'; claimedSeq: number | null; legacy: boolean };

function mac(key: Buffer, kind: 'head' | 'anchor' | 'verify', fields: unknown[]): string {
  return createHmac('sha256', key)
    .update(`sphyr log ${kind} v1\n${JSON.stringify(fields)}`)
    .digest('hex');
}

function headFields(h: LogHead): unknown[] {
  return [h.seq, h.hash, h.ts];
}

function anchorFields(a: PurgeAnchor): unknown[] {
  return [a.seq, a.hash, a.recordTs, a.purgedAt, a.retentionMs];
}

function sameMac(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export function sealHead(key: Buffer, head: LogHead): string {
  return JSON.stringify({ ...head, mac: mac(key, 'head', headFields(head)) });
}

export function sealAnchor(key: Buffer, anchor: PurgeAnchor): string {
  return JSON.stringify({ ...anchor, mac: mac(key, 'anchor', anchorFields(anchor)) });
}

function parse(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function seqOf(v: Record<string, unknown> | undefined): number | null {
  return typeof v?.seq === 'number' && Number.isSafeInteger(v.seq) ? v.seq : null;
}

const isNumberOrNull = (v: unknown) => v === null || typeof v === 'number';

export function openHead(key: Buffer, raw: string | undefined): Opened<LogHead> {
  if (raw === undefined) return { state: 'absent' };
  const v = parse(raw);
  const seq = seqOf(v);
  if (v && seq !== null && typeof v.hash === 'string' && typeof v.ts === 'number') {
    const head: LogHead = { seq, hash: v.hash, ts: v.ts };
    if (sameMac(v.mac, mac(key, 'head', headFields(head)))) return { state: 'ok', value: head };
  }
  return { state: 'unauthenticated', claimedSeq: seq, legacy: false };
}

/** A bare `{seq, hash}` (what versions before the MAC wrote) opens as `legacy`. */
export function openAnchor(key: Buffer, raw: string | undefined): Opened<PurgeAnchor> {
  if (raw === undefined) return { state: 'absent' };
  const v = parse(raw);
  const seq = seqOf(v);
  if (
    v &&
    seq !== null &&
    typeof v.hash === 'string' &&
    typeof v.purgedAt === 'number' &&
    isNumberOrNull(v.recordTs) &&
    isNumberOrNull(v.retentionMs)
  ) {
    const anchor: PurgeAnchor = {
      seq,
      hash: v.hash,
      recordTs: v.recordTs as number | null,
      purgedAt: v.purgedAt,
      retentionMs: v.retentionMs as number | null,
    };
    if (sameMac(v.mac, mac(key, 'anchor', anchorFields(anchor)))) return { state: 'ok', value: anchor };
  }
  const legacy = !!v && seq !== null && typeof v.hash === 'string' && Object.keys(v).length === 2;
  return { state: 'unauthenticated', claimedSeq: seq, legacy };
}

function verifyFields(v: VerifyRun): unknown[] {
  return [v.at, v.ok, v.checked, v.firstSeq, v.lastSeq, v.problems, v.brokenAt, v.problem];
}

/** The last verify's result, MAC'd: a row written into sphyr.db cannot claim a check that never ran. */
export function sealVerifyRun(key: Buffer, run: VerifyRun): string {
  return JSON.stringify({ ...run, mac: mac(key, 'verify', verifyFields(run)) });
}

export function openVerifyRun(key: Buffer, raw: string | undefined): Opened<VerifyRun> {
  if (raw === undefined) return { state: 'absent' };
  const v = parse(raw);
  const numberOrNull = (x: unknown) => x === null || (typeof x === 'number' && Number.isSafeInteger(x));
  if (
    v &&
    typeof v.at === 'number' &&
    typeof v.ok === 'boolean' &&
    typeof v.checked === 'number' &&
    numberOrNull(v.firstSeq) &&
    numberOrNull(v.lastSeq) &&
    typeof v.problems === 'number' &&
    numberOrNull(v.brokenAt) &&
    (v.problem === null || typeof v.problem === 'string')
  ) {
    const run: VerifyRun = {
      at: v.at,
      ok: v.ok,
      checked: v.checked,
      firstSeq: v.firstSeq as number | null,
      lastSeq: v.lastSeq as number | null,
      problems: v.problems,
      brokenAt: v.brokenAt as number | null,
      problem: v.problem as string | null,
    };
    if (sameMac(v.mac, mac(key, 'verify', verifyFields(run)))) return { state: 'ok', value: run };
  }
  return { state: 'unauthenticated', claimedSeq: null, legacy: false };
}
