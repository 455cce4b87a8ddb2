/**
 * @module Everything a person or a standard OAuth client reaches (not signed agent calls): OAuth
 * metadata and the RFC 8628 endpoints, the console pages and the console's JSON API.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from '../context.js';

export function isWebPath(path: string): boolean {
  return (
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
  const { handleConsole } = await import('../console/router.js');
  return handleConsole(ctx, req, res, path);
}
