import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from '../context.js';

/** RFC 8414 metadata and the RFC 8628 device endpoints (DESIGN §3.8). Filled in by the OAuth work. */
export async function handleOAuth(
  _ctx: GatewayContext,
  _req: IncomingMessage,
  res: ServerResponse,
  _path: string,
): Promise<void> {
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
}
