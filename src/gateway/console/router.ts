import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from '../context.js';

/** The console pages, /device, and /v1/console/* (DESIGN §3.8). Filled in by the console work. */
export async function handleConsole(
  _ctx: GatewayContext,
  _req: IncomingMessage,
  res: ServerResponse,
  _path: string,
): Promise<void> {
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
}
