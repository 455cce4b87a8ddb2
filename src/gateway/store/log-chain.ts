import { createHmac } from 'node:crypto';
import type { NewLogRecord } from './types.js';

/** The `prev_hash` of the first record ever written. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * HMAC-SHA256 over the previous hash and every field of the record in a fixed order, so editing
 * any field, reordering, or deleting a record breaks the chain at that point.
 */
export function chainHash(key: Buffer, seq: number, prevHash: string, r: NewLogRecord): string {
  const fields = [
    seq,
    r.id,
    r.ts,
    r.kind,
    r.keyId,
    r.agentId,
    r.clientIp,
    r.method,
    r.urlHash,
    r.host,
    r.url,
    r.entropy,
    r.outcome,
    r.reason,
    r.status,
    r.bytesIn,
    r.bytesOut,
    r.durationMs,
    r.signature,
    r.tool,
    r.argsDigest,
  ];
  return createHmac('sha256', key).update(prevHash).update('\n').update(JSON.stringify(fields)).digest('hex');
}
