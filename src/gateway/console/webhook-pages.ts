/**
 * @module The webhook console pages (DESIGN §3.9): list + create form, the one-time secret page
 * (creation, rotation), deliveries per webhook, enable and delete. The router signed the person
 * in; every POST here checks the `_csrf` form field.
 */

import {
  createWebhook,
  deleteWebhook,
  enableWebhook,
  getWebhook,
  listDeliveries,
  rotateWebhook,
} from '../webhooks/service.js';
import { messagePage } from './html.js';
import { redirect, sendHtml } from './http.js';
import { type ConsoleRequest, methodNotAllowed, readCheckedForm } from './request.js';
import { deliveriesPage, webhookSecretPage, webhooksPage } from './webhook-html.js';

const NOTICES: Record<string, string> = {
  enabled: 'The webhook is enabled again.',
  deleted: 'The webhook was deleted.',
};

const BACK = '<p><a href="/console/webhooks">Back to webhooks</a></p>';

function notFound(r: ConsoleRequest, title = 'Not found', message = 'There is no such console page.'): void {
  if (r.method === 'POST') r.req.resume();
  sendHtml(r.res, 404, messagePage(title, message, r.user, BACK));
}

export async function handleWebhookPages(r: ConsoleRequest): Promise<void> {
  const { ctx, path, method, user } = r;
  const reading = method === 'GET' || method === 'HEAD';
  if (path === '/console/webhooks') {
    if (reading) {
      const notice = NOTICES[r.url.searchParams.get('done') ?? ''];
      return sendHtml(r.res, 200, webhooksPage(user, await ctx.store.listWebhooks(), { notice }));
    }
    if (method !== 'POST') return methodNotAllowed(r, 'GET, POST', user);
    const form = await readCheckedForm(r);
    if (!form) return;
    const url = form.get('url') ?? '';
    const events = form.getAll('events');
    const result = await createWebhook(ctx, url, events);
    if (!result.ok) {
      const page = webhooksPage(user, await ctx.store.listWebhooks(), { error: result.message, url, events });
      return sendHtml(r.res, result.status, page);
    }
    return sendHtml(r.res, 201, webhookSecretPage(user, result.webhook, result.secret ?? '', false));
  }
  const match = /^\/console\/webhooks\/([^/]+)\/(deliveries|rotate|enable|delete)$/.exec(path);
  if (!match) return notFound(r);
  const id = match[1] ?? '';
  const action = match[2];
  if (action === 'deliveries') {
    if (!reading) return methodNotAllowed(r, 'GET', user);
    const hook = await getWebhook(ctx, id);
    const deliveries = hook && (await listDeliveries(ctx, id, 200));
    if (!hook || !deliveries) return notFound(r, 'No such webhook', 'There is no such webhook.');
    return sendHtml(r.res, 200, deliveriesPage(user, hook, deliveries));
  }
  if (method !== 'POST') return methodNotAllowed(r, 'POST', user);
  const form = await readCheckedForm(r);
  if (!form) return;
  if (action === 'delete') {
    if (!(await deleteWebhook(ctx, id))) return notFound(r, 'No such webhook', 'There is no such webhook.');
    return redirect(r.res, '/console/webhooks?done=deleted');
  }
  const result = action === 'rotate' ? await rotateWebhook(ctx, id) : await enableWebhook(ctx, id);
  if (!result.ok) return notFound(r, 'No such webhook', result.message);
  if (action === 'rotate')
    return sendHtml(r.res, 200, webhookSecretPage(user, result.webhook, result.secret ?? '', true));
  return redirect(r.res, '/console/webhooks?done=enabled');
}
