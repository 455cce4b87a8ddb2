import type { RateLimiter, RateLimitResult } from './types.js';

/**
 * Sliding-window log: at most `limit` hits in any rolling window of `windowMs`. Exact (no burst at
 * window edges, unlike fixed windows), and memory is bounded by `limit` timestamps per live key.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #hits = new Map<string, number[]>();
  readonly #now: () => number;
  #lastSweep = 0;
  /** Sweeps use the longest window any caller uses, so a 1 s bucket's sweep keeps 60 s buckets. */
  #sweepWindowMs = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    const now = this.#now();
    this.#sweepWindowMs = Math.max(this.#sweepWindowMs, windowMs);
    this.#sweep(now, this.#sweepWindowMs);
    let times = this.#hits.get(key);
    if (!times) {
      times = [];
      this.#hits.set(key, times);
    }
    const cutoff = now - windowMs;
    let drop = 0;
    while (drop < times.length && (times[drop] as number) <= cutoff) drop += 1;
    if (drop > 0) times.splice(0, drop);
    if (times.length >= limit) {
      const oldest = times[0] as number;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - now) / 1000)) };
    }
    times.push(now);
    return { allowed: true, retryAfterSeconds: 0 };
  }

  /** Forget idle keys now and then, so one-off source IPs do not pile up. */
  #sweep(now: number, windowMs: number): void {
    if (now - this.#lastSweep < Math.max(windowMs, 10_000)) return;
    this.#lastSweep = now;
    for (const [key, times] of this.#hits) {
      if (times.length === 0 || (times[times.length - 1] as number) <= now - windowMs) this.#hits.delete(key);
    }
  }
}
