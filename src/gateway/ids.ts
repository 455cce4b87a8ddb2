import { randomBytes } from 'node:crypto';

/** `req_…`: time-ordered prefix plus randomness, so ids sort roughly by creation. */
export function newRequestId(now: number): string {
  return `req_${now.toString(36).padStart(9, '0')}${randomBytes(8).toString('base64url')}`;
}

export function newAgentId(): string {
  return `agt_${randomBytes(16).toString('base64url')}`;
}

export function newKeyId(): string {
  return `key_${randomBytes(9).toString('base64url')}`;
}
