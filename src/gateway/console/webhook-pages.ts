import type { ConsoleRequest } from './extensions.js';

/** Not built yet: answers 404. */
export async function handleWebhookPages(request: ConsoleRequest): Promise<void> {
  request.res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
}
