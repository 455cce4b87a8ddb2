/**
 * @module Everything a person or a standard OAuth client reaches (not signed agent calls): the base
 * URL, OAuth metadata and the RFC 8628 endpoints, the console pages and the console's JSON API.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from '../context.js';

/** True for what this router answers; `GET /` too, since a person opens the gateway's base URL. */
export function isWebPath(path: string, method = 'GET'): boolean {
  return (
    (path === '/' && (method === 'GET' || method === 'HEAD')) ||
    path.startsWith('/.well-known/') ||
    path.startsWith('/oauth/') ||
    path === '/device' ||
    path.startsWith('/device/') ||
    path === '/console' ||
    path.startsWith('/console/') ||
    path.startsWith('/v1/console/')
  );
}

export async function handleWeb(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  if (path.startsWith('/.well-known/') || path.startsWith('/oauth/')) {
    const { handleOAuth } = await import('../oauth/router.js');
    return handleOAuth(ctx, req, res, path);
  }
  if (path === '/') {
    // The base URL in a browser: the console (which sends a signed-out visitor on to sign-in).
    const { redirect } = await import('../console/http.js');
    return redirect(res, '/console');
  }
  const { handleConsole } = await import('../console/router.js');
  return handleConsole(ctx, req, res, path);
}
