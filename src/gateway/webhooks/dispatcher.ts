/**
 * @module The webhook dispatcher (DESIGN §3.9). As the gateway's {@link EventSink} it queues one
 * delivery per enabled webhook subscribed to the event's type, in the store (so a restart resumes
 * the queue; UNIQUE(webhook, event) keeps it at most one per webhook). A timer-driven worker sends
 * due deliveries: signed POSTs through the SSRF screen, retried with exponential backoff and
 * jitter (honouring `Retry-After` on 429/503), never following redirects. An endpoint that keeps
 * failing is disabled with a reason. Nothing here can block or fail the request that emitted.
 */

import type { GatewayContext } from '../context.js';
import type { EventSink, GatewayEvent } from '../events.js';
import type { WebhookDeliveryRecord } from '../store/types.js';
import { screenWebhookUrl, sendPinned, type WebhookSender } from './egress.js';
import { newDeliveryId, signatureHeaders } from './signing.js';

export interface WebhookOptions {
  /** Delay before each retry (the first entry before the second attempt). Default 5 s … 6 h. */
  retryScheduleMs?: readonly number[];
  /** Attempts in all before a delivery is given up (default: retries in the schedule + 1 = 8). */
  maxAttempts?: number;
  /** ± this fraction of random jitter on each delay (default 0.2). */
  jitter?: number;
  /** Whole exchange limit per attempt (default 10 s). */
  timeoutMs?: number;
  /** Cap on a `Retry-After` the receiver asks for (default 1 h). */
  maxRetryAfterMs?: number;
  /** Failed attempts in a row (across deliveries) that disable the webhook (default 10). */
  disableAfterFailures?: number;
  /** How often the worker looks for due deliveries (default 1 s). */
  pollIntervalMs?: number;
  /** Attempts in flight at once (default 16). */
  maxConcurrent?: number;
  /** Delivered/dead deliveries are kept this long (default 30 days). */
  deliveryRetentionMs?: number;
  /** The HTTP client (tests may swap it); default: a pinned POST over node:http/https. */
  send?: WebhookSender;
  /** Extra trusted CA (PEM) for https endpoints. */
  ca?: string;
}

export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000,
  30_000,
  2 * 60_000,
  10 * 60_000,
  60 * 60_000,
  3 * 60 * 60_000,
  6 * 60 * 60_000,
];

const USER_AGENT = 'Sphyr-Webhooks/1';
const PURGE_EVERY_MS = 60 * 60 * 1000;

/** Milliseconds a `Retry-After` value asks for (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

interface Outcome {
  status: number | null;
  error: string | null;
  retryAfterMs?: number;
  /** 410 Gone: the receiver says the endpoint is gone for good. */
  gone?: boolean;
}

export class WebhookDispatcher implements EventSink {
  readonly #ctx: GatewayContext;
  readonly #schedule: readonly number[];
  readonly #maxAttempts: number;
  readonly #jitter: number;
  readonly #timeoutMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #disableAfter: number;
  readonly #pollMs: number;
  readonly #maxConcurrent: number;
  readonly #retentionMs: number;
  readonly #send: WebhookSender;
  readonly #ca: string | undefined;
  readonly #abort = new AbortController();
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #enqueues = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #lastPurge = 0;

  constructor(ctx: GatewayContext, options: WebhookOptions = {}) {
    this.#ctx = ctx;
    this.#schedule = options.retryScheduleMs?.length ? options.retryScheduleMs : DEFAULT_RETRY_SCHEDULE_MS;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? this.#schedule.length + 1);
    this.#jitter = Math.min(Math.max(options.jitter ?? 0.2, 0), 1);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 60 * 60_000;
    this.#disableAfter = Math.max(1, options.disableAfterFailures ?? 10);
    this.#pollMs = Math.max(1, options.pollIntervalMs ?? 1_000);
    this.#maxConcurrent = Math.max(1, options.maxConcurrent ?? 16);
    this.#retentionMs = options.deliveryRetentionMs ?? 30 * 24 * 60 * 60 * 1000;
    this.#send = options.send ?? sendPinned;
    this.#ca = options.ca;
  }

  /** Queue the event for every enabled webhook that wants it. Never throws, never waits. */
  emit(event: GatewayEvent): void {
    if (this.#stopped) return;
    const queued = this.#enqueue(event)
      .catch((error) =>
        this.#ctx.warn(`webhook: could not queue ${event.type} ${event.id}: ${message(error)}`),
      )
      .finally(() => this.#enqueues.delete(queued));
    this.#enqueues.add(queued);
  }

  /** Start the worker (the timer does not keep the process alive). */
  start(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setInterval(() => this.kick(), this.#pollMs);
    this.#timer.unref();
    this.kick();
  }

  /** Stop: no new attempts; in-flight ones are aborted and left as they were (resumed on restart). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await Promise.allSettled([...this.#enqueues]);
    await this.#ticking?.catch(() => undefined);
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Look for due deliveries now (also done by the timer). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    this.#ticking = (async () => {
      do {
        this.#again = false;
        await this.#tick();
      } while (this.#again && !this.#stopped);
    })()
      .catch((error) => this.#ctx.warn(`webhook: worker failed: ${message(error)}`))
      .finally(() => {
        this.#ticking = undefined;
      });
  }

  async #enqueue(event: GatewayEvent): Promise<void> {
    const store = this.#ctx.store;
    const hooks = (await store.listWebhooks()).filter(
      (hook) => hook.disabledAt === null && hook.events.includes(event.type),
    );
    if (hooks.length === 0) return;
    const payload = JSON.stringify({ id: event.id, type: event.type, time: event.time, data: event.data });
    const now = this.#ctx.now();
    for (const hook of hooks) {
      await store.enqueueWebhookDelivery({
        id: newDeliveryId(),
        webhookId: hook.id,
        eventId: event.id,
        eventType: event.type,
        payload,
        createdAt: now,
      });
    }
    this.kick();
  }

  async #tick(): Promise<void> {
    const now = this.#ctx.now();
    if (now - this.#lastPurge >= PURGE_EVERY_MS) {
      this.#lastPurge = now;
      await this.#ctx.store.purgeWebhookDeliveriesBefore(now - this.#retentionMs);
    }
    const free = this.#maxConcurrent - this.#inFlight.size;
    if (free <= 0) return;
    const due = await this.#ctx.store.dueWebhookDeliveries(now, this.#maxConcurrent * 2);
    for (const delivery of due.filter((d) => !this.#inFlight.has(d.id)).slice(0, free)) {
      const running = this.#attempt(delivery)
        .catch((error) => this.#ctx.warn(`webhook: delivery ${delivery.id} failed: ${message(error)}`))
        .finally(() => {
          this.#inFlight.delete(delivery.id);
          this.kick();
        });
      this.#inFlight.set(delivery.id, running);
    }
  }

  async #attempt(delivery: WebhookDeliveryRecord): Promise<void> {
    const { store } = this.#ctx;
    const hook = await store.getWebhook(delivery.webhookId);
    if (!hook || hook.record.disabledAt !== null) return;
    const outcome = await this.#exchange(hook.record.url, hook.secret, delivery);
    if (this.#stopped && outcome.status === null) return; // aborted by shutdown: try again after restart
    const now = this.#ctx.now();
    const attempts = delivery.attempts + 1;
    const ok = outcome.status !== null && outcome.status >= 200 && outcome.status < 300;
    if (ok) {
      await store.updateWebhookDelivery(delivery.id, {
        status: 'delivered',
        attempts,
        nextAttemptAt: null,
        lastAttemptAt: now,
        lastStatusCode: outcome.status,
        lastError: null,
        deliveredAt: now,
      });
      await store.noteWebhookAttempt(hook.record.id, true);
      return;
    }
    const failures = await store.noteWebhookAttempt(hook.record.id, false);
    const exhausted = attempts >= this.#maxAttempts;
    const dead = exhausted || outcome.gone === true;
    await store.updateWebhookDelivery(delivery.id, {
      status: dead ? 'dead' : 'failed',
      attempts,
      nextAttemptAt: dead ? null : now + this.#delay(attempts, outcome.retryAfterMs),
      lastAttemptAt: now,
      lastStatusCode: outcome.status,
      lastError: outcome.error,
      deliveredAt: null,
    });
    let reason: string | undefined;
    if (outcome.gone) reason = 'the endpoint answered 410 Gone';
    else if (exhausted) reason = `a delivery failed ${attempts} times (last: ${outcome.error})`;
    else if (failures >= this.#disableAfter) {
      reason = `${failures} delivery attempts in a row failed (last: ${outcome.error})`;
    }
    if (reason) {
      await store.setWebhookDisabled(hook.record.id, now, reason);
      this.#ctx.warn(`webhook ${hook.record.id} disabled: ${reason}`);
    }
  }

  /** One signed POST; the signature is made with the secret as it is now (rotation applies at once). */
  async #exchange(rawUrl: string, secret: Uint8Array, delivery: WebhookDeliveryRecord): Promise<Outcome> {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return { status: null, error: 'the webhook URL does not parse' };
    }
    const screen = await screenWebhookUrl(this.#ctx, url);
    const address = screen.addresses[0];
    if (screen.verdict !== 'allow' || !screen.url || !address) {
      return { status: null, error: `blocked by SSRF screening (${screen.reason})` };
    }
    const timestamp = Math.floor(this.#ctx.now() / 1000);
    try {
      const res = await this.#send({
        url: screen.url,
        address,
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          ...signatureHeaders(secret, delivery.eventId, timestamp, delivery.payload),
        },
        body: delivery.payload,
        timeoutMs: this.#timeoutMs,
        signal: this.#abort.signal,
        ...(this.#ca ? { ca: this.#ca } : {}),
      });
      const { status } = res;
      if (status >= 200 && status < 300) return { status, error: null };
      const outcome: Outcome = {
        status,
        error: status >= 300 && status < 400 ? `HTTP ${status}: redirect not followed` : `HTTP ${status}`,
      };
      if (status === 429 || status === 503) {
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'], this.#ctx.now());
        if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
      }
      if (status === 410) outcome.gone = true;
      return outcome;
    } catch (error) {
      return { status: null, error: message(error) };
    }
  }

  /** Backoff before the next attempt after `attempts` tries, with jitter; at least the capped Retry-After. */
  #delay(attempts: number, retryAfterMs?: number): number {
    const base = this.#schedule[Math.min(attempts - 1, this.#schedule.length - 1)] ?? 0;
    const jittered = Math.round(base * (1 + this.#jitter * (Math.random() * 2 - 1)));
    if (retryAfterMs === undefined) return jittered;
    return Math.max(jittered, Math.min(retryAfterMs, this.#maxRetryAfterMs));
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
