/**
 * @module Key lifecycle for the console pages and the console JSON API: create, rename, rotate,
 * revoke. A new or rotated credential is returned to the caller once and never stored in clear.
 */

import { generateCredential } from '../../config/credential.js';
import type { GatewayContext } from '../context.js';
import { newEvent } from '../events.js';
import { newKeyId } from '../ids.js';
import type { KeyRecord } from '../store/types.js';

export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
export const MAX_KEY_NAME = 200;

export type KeyOpResult =
  | { ok: true; key: KeyRecord; credential?: string }
  | { ok: false; status: number; code: string; message: string };

/** A trimmed name of 1–200 printable characters, or an error message. */
export function checkKeyName(raw: unknown): { name: string } | { error: string } {
  if (typeof raw !== 'string') return { error: 'name must be a string' };
  const name = raw.trim();
  if (!name) return { error: 'name must not be empty' };
  if (name.length > MAX_KEY_NAME) return { error: `name must be at most ${MAX_KEY_NAME} characters` };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) return { error: 'name must not contain control characters' };
  return { name };
}

function invalidName(message: string): KeyOpResult {
  return { ok: false, status: 400, code: 'invalid_name', message };
}

const notFound: KeyOpResult = { ok: false, status: 404, code: 'key_not_found', message: 'no such key' };

async function existing(ctx: GatewayContext, id: string): Promise<KeyRecord | undefined> {
  if (!KEY_ID_PATTERN.test(id)) return undefined;
  return (await ctx.store.getKey(id))?.record;
}

export async function createKey(ctx: GatewayContext, rawName: unknown): Promise<KeyOpResult> {
  const checked = checkKeyName(rawName);
  if ('error' in checked) return invalidName(checked.error);
  const credential = generateCredential(newKeyId());
  const key = await ctx.store.createKey(credential.keyId, checked.name, credential.secret, ctx.now());
  ctx.events?.emit(newEvent('key.created', ctx.now(), { keyId: key.id, name: key.name }));
  return { ok: true, key, credential: credential.reveal() };
}

export async function renameKey(ctx: GatewayContext, id: string, rawName: unknown): Promise<KeyOpResult> {
  const checked = checkKeyName(rawName);
  if ('error' in checked) return invalidName(checked.error);
  if (!(await existing(ctx, id))) return notFound;
  const key = await ctx.store.renameKey(id, checked.name);
  return key ? { ok: true, key } : notFound;
}

/** Revoking twice is fine: the first revocation time stays. */
export async function revokeKey(ctx: GatewayContext, id: string): Promise<KeyOpResult> {
  if (!(await existing(ctx, id))) return notFound;
  const key = await ctx.store.revokeKey(id, ctx.now());
  if (key) ctx.events?.emit(newEvent('key.revoked', ctx.now(), { keyId: key.id, name: key.name }));
  return key ? { ok: true, key } : notFound;
}

/** A new secret for an active key; the old credential stops verifying at once. */
export async function rotateKey(ctx: GatewayContext, id: string): Promise<KeyOpResult> {
  const current = await existing(ctx, id);
  if (!current) return notFound;
  if (current.revokedAt !== null) {
    return { ok: false, status: 409, code: 'key_revoked', message: 'a revoked key cannot be rotated' };
  }
  const credential = generateCredential(id);
  const key = await ctx.store.rotateKey(id, credential.secret, ctx.now());
  if (!key) return notFound;
  ctx.events?.emit(newEvent('key.rotated', ctx.now(), { keyId: key.id, name: key.name }));
  return { ok: true, key, credential: credential.reveal() };
}

/** The JSON shape of a key: never its secret. */
export function keyJson(key: KeyRecord): Record<string, unknown> {
  return {
    id: key.id,
    name: key.name,
    createdAt: new Date(key.createdAt).toISOString(),
    revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
  };
}
