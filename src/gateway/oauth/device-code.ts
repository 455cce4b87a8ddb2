/**
 * @module `POST /oauth/device/code`, the device authorization endpoint (RFC 8628 §3.1–3.2). Public
 * clients identify themselves with `client_id` only. `device_name` is our extension: it names the
 * key an approval creates and is shown on the approval page with the requester's IP and
 * User-Agent (§5.4: show what is being authorised).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from '../context.js';
import { createDeviceGrant } from './device-grants.js';
import { readForm } from './form-body.js';
import { OAuthError, sendOAuthJson } from './respond.js';

export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
/** What a login may ask for: a gateway credential. Unknown scopes are `invalid_scope`. */
export const SUPPORTED_SCOPES: readonly string[] = ['gateway'];
export const DEFAULT_SCOPE = 'gateway';
/** Per requesting IP, so one address cannot flood the store or the approval list with codes. */
export const DEVICE_CODES_PER_IP = 20;
export const DEVICE_CODES_WINDOW_MS = 60_000;

const MAX_CLIENT_ID = 100;
const MAX_DEVICE_NAME = 100;
const MAX_USER_AGENT = 300;

/** Printable text without control characters, trimmed and cut to `max` characters. */
export function boundedText(value: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  return [...value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim()].slice(0, max).join('');
}

/** RFC 6749 Appendix A.1: client_id is VSCHAR (%x20-7E); we also bound its length. */
export function validClientId(value: string | undefined): string {
  if (value === undefined) throw new OAuthError('invalid_request', 'client_id is required');
  if (value.length > MAX_CLIENT_ID || !/^[\x20-\x7e]+$/.test(value)) {
    throw new OAuthError(
      'invalid_request',
      `client_id must be 1 to ${MAX_CLIENT_ID} printable ASCII characters`,
    );
  }
  return value;
}

/** The requested scope, space-delimited (RFC 6749 §3.3), deduplicated; only known scopes pass. */
export function validScope(value: string | undefined): string {
  const tokens = (value ?? '').split(' ').filter((t) => t !== '');
  if (tokens.length === 0) return DEFAULT_SCOPE;
  const unknown = tokens.filter((t) => !SUPPORTED_SCOPES.includes(t));
  if (unknown.length > 0) {
    throw new OAuthError(
      'invalid_scope',
      `unknown scope ${JSON.stringify(boundedText(unknown[0] as string, 40))}; this gateway offers: ${SUPPORTED_SCOPES.join(' ')}`,
    );
  }
  return [...new Set(tokens)].join(' ');
}

export async function handleDeviceCode(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  ip: string,
): Promise<void> {
  const quota = await ctx.limiter.hit(`oauth-device:${ip}`, DEVICE_CODES_PER_IP, DEVICE_CODES_WINDOW_MS);
  if (!quota.allowed) {
    throw new OAuthError(
      'slow_down',
      `too many login codes requested from this address; try again in ${quota.retryAfterSeconds} s`,
      429,
      { headers: { 'retry-after': quota.retryAfterSeconds } },
    );
  }
  const form = await readForm(req);
  const clientId = validClientId(form.get('client_id'));
  const scope = validScope(form.get('scope'));
  const userAgent = boundedText(String(req.headers['user-agent'] ?? ''), MAX_USER_AGENT);
  const deviceName =
    boundedText(form.get('device_name') ?? '', MAX_DEVICE_NAME) ||
    boundedText(userAgent, MAX_DEVICE_NAME) ||
    clientId;
  const { deviceCode, grant } = await createDeviceGrant(ctx, {
    clientId,
    scope,
    requesterIp: ip,
    requesterAgent: userAgent,
    deviceName,
  });
  const verificationUri = `${ctx.publicUrl}/device`;
  sendOAuthJson(res, 200, {
    device_code: deviceCode,
    user_code: grant.userCode,
    verification_uri: verificationUri,
    verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(grant.userCode)}`,
    expires_in: Math.round((grant.expiresAt - grant.createdAt) / 1000),
    // Always sent: gh's client fails without it (strconv.Atoi on an absent field).
    interval: grant.intervalSeconds,
  });
}
