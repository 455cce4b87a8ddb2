import type { ServerResponse } from 'node:http';
import type { Caller } from '../authenticate.js';
import type { GatewayContext } from '../context.js';
import { newEvent } from '../events.js';
import { sendJson } from '../refusal.js';

/** `GET /v1/whoami` (signed): the calling key, for `sphyr whoami` and `login --with-token`. */
export async function handleWhoami(res: ServerResponse, caller: Caller, requestId: string): Promise<void> {
  const { key } = caller;
  sendJson(
    res,
    200,
    { keyId: key.id, keyName: key.name, createdAt: new Date(key.createdAt).toISOString() },
    requestId,
  );
}

/** `POST /v1/keys/self/revoke` (signed): `sphyr logout` revokes its own key; it fails at once after. */
export async function handleRevokeSelf(
  ctx: GatewayContext,
  res: ServerResponse,
  caller: Caller,
  requestId: string,
): Promise<void> {
  const record = await ctx.store.revokeKey(caller.key.id, ctx.now());
  ctx.events?.emit(
    newEvent('key.revoked', ctx.now(), { keyId: caller.key.id, name: caller.key.name, by: 'logout' }),
  );
  sendJson(
    res,
    200,
    { keyId: caller.key.id, revokedAt: new Date(record?.revokedAt ?? ctx.now()).toISOString() },
    requestId,
  );
}
