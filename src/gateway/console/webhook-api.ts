/**
 * @module The console JSON API for webhooks (DESIGN §3.9). The router has already checked the
 * session, and X-CSRF-Token on writes.
 *
 * - `GET /v1/console/webhooks` → `{webhooks:[…]}` (never a secret)
 * - `POST /v1/console/webhooks` `{url, events}` → 201 `{webhook, secret, standardWebhooksSecret}`
 * - `GET /v1/console/webhooks/:id` → `{webhook}`; `DELETE` → 204
 * - `GET /v1/console/webhooks/:id/deliveries` → `{deliveries:[…]}` (newest first)
 * - `POST /v1/console/webhooks/:id/rotate` → `{webhook, secret, standardWebhooksSecret}`
 * - `POST /v1/console/webhooks/:id/enable` → `{webhook}`
 */

import {
  createWebhook,
  deleteWebhook,
  deliveryJson,
  enableWebhook,
  getWebhook,
  listDeliveries,
  rotateWebhook,
  secretJson,
  type WebhookOpResult,
  webhookJson,
} from '../webhooks/service.js';
import { sendConsoleJson, sendJsonError } from './http.js';
import { type ConsoleRequest, methodNotAllowed, readJson } from './request.js';

function sendResult(r: ConsoleRequest, result: WebhookOpResult, status = 200): void {
  if (!result.ok) {
    sendJsonError(r.res, result.status, result.code, result.message);
    return;
  }
  const body = result.secret
    ? secretJson(result.webhook, result.secret)
    : { webhook: webhookJson(result.webhook) };
  sendConsoleJson(r.res, status, body);
}

export async function handleWebhookApi(r: ConsoleRequest): Promise<void> {
  const { ctx, path, method } = r;
  const reading = method === 'GET' || method === 'HEAD';
  if (path === '/v1/console/webhooks') {
    if (reading) {
      return sendConsoleJson(r.res, 200, { webhooks: (await ctx.store.listWebhooks()).map(webhookJson) });
    }
    if (method !== 'POST') return methodNotAllowed(r, 'GET, POST');
    const body = await readJson(r);
    if (!body) return;
    return sendResult(r, await createWebhook(ctx, body.url, body.events), 201);
  }
  const match = /^\/v1\/console\/webhooks\/([^/]+)(?:\/(deliveries|rotate|enable))?$/.exec(path);
  const id = match?.[1] ?? '';
  const action = match?.[2];
  if (!match) {
    if (!reading) r.req.resume();
    return sendJsonError(r.res, 404, 'not_found', `no ${method} ${path} in the console API`);
  }
  if (!action) {
    if (reading) {
      const webhook = await getWebhook(ctx, id);
      if (!webhook) return sendJsonError(r.res, 404, 'webhook_not_found', 'no such webhook');
      return sendConsoleJson(r.res, 200, { webhook: webhookJson(webhook) });
    }
    if (method !== 'DELETE') return methodNotAllowed(r, 'GET, DELETE');
    r.req.resume();
    if (!(await deleteWebhook(ctx, id)))
      return sendJsonError(r.res, 404, 'webhook_not_found', 'no such webhook');
    r.res.writeHead(204, { 'cache-control': 'no-store' }).end();
    return;
  }
  if (action === 'deliveries') {
    if (!reading) return methodNotAllowed(r, 'GET');
    const limit = Math.min(Math.max(Number(r.url.searchParams.get('limit')) || 100, 1), 500);
    const deliveries = await listDeliveries(ctx, id, limit);
    if (!deliveries) return sendJsonError(r.res, 404, 'webhook_not_found', 'no such webhook');
    return sendConsoleJson(r.res, 200, { deliveries: deliveries.map(deliveryJson) });
  }
  if (method !== 'POST') return methodNotAllowed(r, 'POST');
  r.req.resume();
  return sendResult(r, action === 'rotate' ? await rotateWebhook(ctx, id) : await enableWebhook(ctx, id));
}
