/**
 * @module Webhook lifecycle for the console pages and the console JSON API: create, rotate,
 * enable, delete, list. A secret is returned to the caller once (at creation or rotation) and is
 * otherwise only stored sealed.
 */

import type { GatewayContext } from '../context.js';
import { EVENT_TYPES, type GatewayEventType } from '../events.js';
import type { WebhookDeliveryRecord, WebhookRecord } from '../store/types.js';
import { checkWebhookUrl, screenWebhookUrl } from './egress.js';
import { newWebhookId, newWebhookSecret, standardWebhooksSecret } from './signing.js';

export const WEBHOOK_ID_PATTERN = /^wh_[A-Za-z0-9_-]{1,64}$/;
export const MAX_WEBHOOKS = 100;

export type WebhookOpResult =
  | { ok: true; webhook: WebhookRecord; secret?: string }
  | { ok: false; status: number; code: string; message: string };

function fail(status: number, code: string, message: string): WebhookOpResult {
  return { ok: false, status, code, message };
}

const notFound = fail(404, 'webhook_not_found', 'no such webhook');

/** A non-empty list of known event types (deduplicated, in the canonical order), or an error. */
export function checkEvents(raw: unknown): { events: GatewayEventType[] } | { error: string } {
  if (!Array.isArray(raw) || raw.length === 0) {
    return { error: `events must be a non-empty list of: ${EVENT_TYPES.join(', ')}` };
  }
  for (const value of raw) {
    if (typeof value !== 'string' || !(EVENT_TYPES as readonly string[]).includes(value)) {
      return { error: `unknown event type ${JSON.stringify(value)}; known: ${EVENT_TYPES.join(', ')}` };
    }
  }
  return { events: EVENT_TYPES.filter((t) => raw.includes(t)) };
}

export async function createWebhook(
  ctx: GatewayContext,
  rawUrl: unknown,
  rawEvents: unknown,
): Promise<WebhookOpResult> {
  const checked = checkWebhookUrl(rawUrl);
  if ('error' in checked) return fail(400, 'invalid_url', checked.error);
  const events = checkEvents(rawEvents);
  if ('error' in events) return fail(400, 'invalid_events', events.error);
  const screen = await screenWebhookUrl(ctx, checked.url);
  if (screen.verdict !== 'allow') {
    return fail(
      400,
      'webhook_url_blocked',
      `the URL was refused by SSRF screening (${screen.reason}); webhooks can only reach public addresses`,
    );
  }
  if ((await ctx.store.listWebhooks()).length >= MAX_WEBHOOKS) {
    return fail(409, 'too_many_webhooks', `at most ${MAX_WEBHOOKS} webhooks; delete one first`);
  }
  const secret = newWebhookSecret();
  const webhook = await ctx.store.createWebhook(
    { id: newWebhookId(), url: checked.url.href, events: events.events, createdAt: ctx.now() },
    Buffer.from(secret, 'ascii'),
  );
  return { ok: true, webhook, secret };
}

async function existing(ctx: GatewayContext, id: string): Promise<WebhookRecord | undefined> {
  if (!WEBHOOK_ID_PATTERN.test(id)) return undefined;
  return (await ctx.store.getWebhook(id))?.record;
}

export async function getWebhook(ctx: GatewayContext, id: string): Promise<WebhookRecord | undefined> {
  return existing(ctx, id);
}

/** A new secret; the old one stops verifying at once (pending retries are signed with the new one). */
export async function rotateWebhook(ctx: GatewayContext, id: string): Promise<WebhookOpResult> {
  if (!(await existing(ctx, id))) return notFound;
  const secret = newWebhookSecret();
  const webhook = await ctx.store.rotateWebhookSecret(id, Buffer.from(secret, 'ascii'));
  return webhook ? { ok: true, webhook, secret } : notFound;
}

/** Re-enable a disabled webhook (its failure count starts again at 0). */
export async function enableWebhook(ctx: GatewayContext, id: string): Promise<WebhookOpResult> {
  if (!(await existing(ctx, id))) return notFound;
  const webhook = await ctx.store.setWebhookDisabled(id, null, null);
  return webhook ? { ok: true, webhook } : notFound;
}

export async function deleteWebhook(ctx: GatewayContext, id: string): Promise<boolean> {
  if (!WEBHOOK_ID_PATTERN.test(id)) return false;
  return ctx.store.deleteWebhook(id);
}

export async function listDeliveries(
  ctx: GatewayContext,
  id: string,
  limit = 100,
): Promise<WebhookDeliveryRecord[] | undefined> {
  if (!(await existing(ctx, id))) return undefined;
  return ctx.store.listWebhookDeliveries(id, limit);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The JSON shape of a webhook: never its secret. */
export function webhookJson(webhook: WebhookRecord): Record<string, unknown> {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    createdAt: iso(webhook.createdAt),
    disabled: webhook.disabledAt !== null,
    disabledAt: iso(webhook.disabledAt),
    disabledReason: webhook.disabledReason,
    consecutiveFailures: webhook.consecutiveFailures,
  };
}

export function deliveryJson(delivery: WebhookDeliveryRecord): Record<string, unknown> {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    status: delivery.status,
    attempts: delivery.attempts,
    lastStatusCode: delivery.lastStatusCode,
    lastError: delivery.lastError,
    createdAt: iso(delivery.createdAt),
    lastAttemptAt: iso(delivery.lastAttemptAt),
    nextAttemptAt: iso(delivery.nextAttemptAt),
    deliveredAt: iso(delivery.deliveredAt),
  };
}

/** The body returned with a secret (creation, rotation): shown once. */
export function secretJson(webhook: WebhookRecord, secret: string): Record<string, unknown> {
  return { webhook: webhookJson(webhook), secret, standardWebhooksSecret: standardWebhooksSecret(secret) };
}
