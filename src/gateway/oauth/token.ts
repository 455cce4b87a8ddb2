/**
 * @module `POST /oauth/token` for the device grant (RFC 8628 §3.4–3.5). Polls of one device code
 * are serialised, so `slow_down` bookkeeping and single-use redemption never race; the credential
 * leaves the store once, in the success body, and is never logged.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from '../context.js';
import type { DeviceGrantRecord } from '../store/types.js';
import { DEVICE_GRANT_TYPE, validClientId } from './device-code.js';
import { hashDeviceCode, redeemGrant } from './device-grants.js';
import { readForm } from './form-body.js';
import { OAuthError, sendOAuthJson } from './respond.js';

/** `slow_down` adds this to the grant's interval, for this and every later poll (§3.5). */
export const SLOW_DOWN_STEP_SECONDS = 5;
/**
 * A poll this much early still counts as on time. A sequential client's polls arrive at least
 * `interval` apart (it waits after each answer), but timers may fire a millisecond early and
 * VM clocks drift; punishing that would make gh abort on a second `slow_down`.
 */
export const POLL_TOLERANCE_MS = 500;

/** One in-flight token request per device code (this process is the only gateway on its store). */
const locks = new Map<string, Promise<unknown>>();

async function withGrantLock<T>(hash: string, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(hash) ?? Promise.resolve();
  const run = previous.then(work, work);
  const settled = run.catch(() => undefined);
  locks.set(hash, settled);
  try {
    return await run;
  } finally {
    if (locks.get(hash) === settled) locks.delete(hash);
  }
}

/**
 * An approved grant can be collected a little after the code's lifetime: the person approved in
 * time, and the client's next poll may only come `interval` later.
 */
function redeemableUntil(grant: DeviceGrantRecord): number {
  return grant.expiresAt + grant.intervalSeconds * 1000 + POLL_TOLERANCE_MS;
}

export async function handleToken(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const form = await readForm(req);
  const grantType = form.get('grant_type');
  if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
  if (grantType !== DEVICE_GRANT_TYPE) {
    throw new OAuthError(
      'unsupported_grant_type',
      `this gateway only issues tokens for ${DEVICE_GRANT_TYPE}`,
    );
  }
  const clientId = validClientId(form.get('client_id'));
  const deviceCode = form.get('device_code');
  if (deviceCode === undefined) throw new OAuthError('invalid_request', 'device_code is required');
  const hash = hashDeviceCode(deviceCode);

  const body = await withGrantLock(hash, async () => {
    const grant = await ctx.store.getDeviceGrantByDeviceCodeHash(hash);
    if (!grant) throw new OAuthError('invalid_grant', 'unknown device_code');
    if (grant.clientId !== clientId) {
      throw new OAuthError('invalid_client', 'this device_code was issued to a different client_id');
    }
    const now = ctx.now();
    switch (grant.status) {
      case 'consumed':
        throw new OAuthError('invalid_grant', 'this device_code has already been used');
      case 'denied':
        throw new OAuthError('access_denied', 'the login was denied');
      case 'approved': {
        if (now >= redeemableUntil(grant))
          throw new OAuthError('expired_token', 'the device_code has expired');
        const credential = await redeemGrant(ctx, grant);
        if (credential === undefined || grant.keyId === null) {
          throw new OAuthError('invalid_grant', 'this device_code has already been used');
        }
        return {
          access_token: credential,
          // oauth4webapi (openid-client v6) rejects any token_type other than bearer or DPoP
          // (case-insensitively) unless the caller registers its own, and RFC 6749 §5.1 makes
          // token_type REQUIRED. The credential is really an HTTP-signature key (RFC 9421), not a
          // bearer token: clients should read `sphyr_credential`; the gateway never accepts it as
          // `Authorization: Bearer`.
          token_type: 'Bearer',
          scope: grant.scope,
          sphyr_credential: credential,
          sphyr_gateway_url: ctx.publicUrl,
          key_id: grant.keyId,
        };
      }
      case 'pending':
        break;
    }
    if (now >= grant.expiresAt) throw new OAuthError('expired_token', 'the device_code has expired');
    const tooSoon =
      grant.lastPollAt !== null && now - grant.lastPollAt < grant.intervalSeconds * 1000 - POLL_TOLERANCE_MS;
    if (tooSoon) {
      const interval = grant.intervalSeconds + SLOW_DOWN_STEP_SECONDS;
      await ctx.store.updateDeviceGrant(hash, { intervalSeconds: interval, lastPollAt: now });
      throw new OAuthError('slow_down', `polling too fast; wait at least ${interval} s between polls`, 400, {
        // Not in RFC 8628, but harmless, and gh-style clients use a server-supplied interval.
        fields: { interval },
      });
    }
    await ctx.store.updateDeviceGrant(hash, { lastPollAt: now });
    throw new OAuthError(
      'authorization_pending',
      'waiting for the login to be approved in the console',
      400,
      {
        fields: { interval: grant.intervalSeconds },
      },
    );
  });
  sendOAuthJson(res, 200, body);
}
