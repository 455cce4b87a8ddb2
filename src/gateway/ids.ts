import { randomBytes } from 'node:crypto';

// Request ids are made on every request: draw randomness in blocks rather than per call.
let pool = Buffer.alloc(0);
let offset = 0;

function randomChunk(bytes: number): Buffer {
  if (offset + bytes > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  const chunk = pool.subarray(offset, offset + bytes);
  offset += bytes;
  return chunk;
}

/** `req_…`: time-ordered prefix plus randomness, so ids sort roughly by creation. */
export function newRequestId(now: number): string {
  return `req_${now.toString(36).padStart(9, '0')}${randomChunk(8).toString('base64url')}`;
}

/** What an agent id or a key id looks like, as opposed to a name a person gave it. */
export const AGENT_ID_TEXT = /^agt_[A-Za-z0-9_-]{1,100}$/;
export const KEY_ID_TEXT = /^key_[A-Za-z0-9_-]{1,100}$/;

export function newAgentId(): string {
  return `agt_${randomBytes(16).toString('base64url')}`;
}

export function newKeyId(): string {
  return `key_${randomBytes(9).toString('base64url')}`;
}
