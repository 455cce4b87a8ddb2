/**
 * @module Failure limits for sign-in and user-code entry. Unlike the request limiter, only
 * failures count, and a blocked key stays blocked even for a correct attempt until the window
 * passes, so a guesser cannot slip a right answer in after the limit (RFC 8628 §5.1).
 *
 * Concurrency: an attempt is counted as a failure before it is evaluated and refunded when it
 * succeeds ({@link FailureThrottle.begin}), so however many arrive at once, no more than `limit`
 * per window per key are ever evaluated.
 */

import type { GatewayContext } from '../context.js';

export const FAILURE_LIMIT = 5;
export const FAILURE_WINDOW_MS = 15 * 60 * 1000;

/** One reserved attempt: evaluate it, then call `succeeded()` if it was right (a failure needs nothing). */
export type Attempt = { allowed: true; succeeded(): void } | { allowed: false; retryAfterSeconds: number };

/** Sliding windows of failure times per key; idle keys are swept away. */
export class FailureThrottle {
  readonly #failures = new Map<string, number[]>();
  readonly #limit: number;
  readonly #windowMs: number;
  #lastSweep = 0;

  constructor(limit = FAILURE_LIMIT, windowMs = FAILURE_WINDOW_MS) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /** Seconds until every key in `keys` may try again; 0 when none is blocked. */
  blockedFor(keys: readonly string[], now: number): number {
    this.#sweep(now);
    let wait = 0;
    for (const key of keys) {
      const times = this.#live(key, now);
      if (times.length >= this.#limit) {
        const until = (times[times.length - this.#limit] as number) + this.#windowMs;
        wait = Math.max(wait, Math.max(1, Math.ceil((until - now) / 1000)));
      }
    }
    return wait;
  }

  /**
   * Reserves one attempt on every key, counted as a failure until {@link Attempt.succeeded} refunds
   * it; synchronous, so the check and the count cannot be split by concurrent requests.
   */
  begin(keys: readonly string[], now: number): Attempt {
    const wait = this.blockedFor(keys, now);
    if (wait > 0) return { allowed: false, retryAfterSeconds: wait };
    const entries = keys.map((key) => {
      const times = this.#live(key, now);
      times.push(now);
      this.#failures.set(key, times);
      return times;
    });
    let settled = false;
    return {
      allowed: true,
      succeeded: () => {
        if (settled) return;
        settled = true;
        for (const times of entries) {
          const at = times.lastIndexOf(now);
          if (at !== -1) times.splice(at, 1);
        }
      },
    };
  }

  #live(key: string, now: number): number[] {
    const times = this.#failures.get(key) ?? [];
    const cutoff = now - this.#windowMs;
    let drop = 0;
    while (drop < times.length && (times[drop] as number) <= cutoff) drop += 1;
    if (drop > 0) times.splice(0, drop);
    // Keep memory bounded per key: only the newest `limit` matter.
    if (times.length > this.#limit) times.splice(0, times.length - this.#limit);
    return times;
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < 60_000) return;
    this.#lastSweep = now;
    for (const [key, times] of this.#failures) {
      if (times.length === 0 || (times[times.length - 1] as number) <= now - this.#windowMs) {
        this.#failures.delete(key);
      }
    }
  }
}

interface Throttles {
  signIn: FailureThrottle;
  userCode: FailureThrottle;
}

const perGateway = new WeakMap<GatewayContext, Throttles>();

/** One set of throttles per running gateway. */
export function throttlesFor(ctx: GatewayContext): Throttles {
  let throttles = perGateway.get(ctx);
  if (!throttles) {
    throttles = { signIn: new FailureThrottle(), userCode: new FailureThrottle() };
    perGateway.set(ctx, throttles);
  }
  return throttles;
}
