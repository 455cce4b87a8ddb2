/**
 * @module The OAuth surface of the gateway (DESIGN §3.8): RFC 8414 metadata and the RFC 8628
 * device authorization and token endpoints. Everything answers in RFC 6749 §5.2 JSON, including
 * the pre-auth rate limit: on the token endpoint that is a 400 `slow_down` (RFC 8628 §3.5), never
 * a bare 429, which standard clients could not parse.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { SphyrRateLimitError } from '../../errors.js';
import { checkPreAuthLimit } from '../authenticate.js';
import { clientIp } from '../client-ip.js';
import type { GatewayContext } from '../context.js';
import { handleDeviceCode } from './device-code.js';
import { isMetadataPath, sendMetadata } from './metadata.js';
import { OAuthError, sendOAuthError } from './respond.js';
import { handleToken } from './token.js';

const DEVICE_CODE_PATH = '/oauth/device/code';
const TOKEN_PATH = '/oauth/token';

function wrongMethod(allow: string): OAuthError {
  return new OAuthError('invalid_request', `use ${allow.split(', ')[0]} here`, 405, { headers: { allow } });
}

/** The pre-auth limit in OAuth terms: `slow_down` as 400 on the token endpoint, 429 elsewhere. */
async function checkLimit(ctx: GatewayContext, ip: string, path: string): Promise<void> {
  try {
    await checkPreAuthLimit(ctx, ip);
  } catch (error) {
    if (!(error instanceof SphyrRateLimitError)) throw error;
    const retryAfter = error.retryAfterSeconds;
    throw new OAuthError(
      'slow_down',
      'too many requests from this address; slow down',
      path === TOKEN_PATH ? 400 : 429,
      { headers: { 'retry-after': retryAfter } },
    );
  }
}

/** RFC 8414 metadata and the RFC 8628 device endpoints (DESIGN §3.8). */
export async function handleOAuth(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const ip = clientIp(req, ctx.trustedProxies);
  const method = req.method ?? 'GET';
  try {
    await checkLimit(ctx, ip, path);
    if (isMetadataPath(path, ctx.publicUrl)) {
      if (method !== 'GET' && method !== 'HEAD') throw wrongMethod('GET, HEAD');
      sendMetadata(res, ctx.publicUrl, method === 'HEAD');
    } else if (path === DEVICE_CODE_PATH) {
      if (method !== 'POST') throw wrongMethod('POST');
      await handleDeviceCode(ctx, req, res, ip);
    } else if (path === TOKEN_PATH) {
      if (method !== 'POST') throw wrongMethod('POST');
      await handleToken(ctx, req, res);
    } else {
      throw new OAuthError('not_found', `no ${path.slice(0, 100)} on this gateway`, 404);
    }
  } catch (error) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof OAuthError) {
      // A body we did not read to its end would be left in the socket: close it instead.
      sendOAuthError(res, error, !req.complete);
      return;
    }
    // No request data in the message: the device code and credential must never reach a log.
    ctx.warn(`OAuth ${method} ${path.slice(0, 100)} failed: ${(error as Error)?.stack ?? error}`);
    sendOAuthError(
      res,
      new OAuthError('server_error', 'the gateway failed to handle this request', 500),
      true,
    );
  }
}
