import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../../src/gateway/store/memory-rate-limiter.js';

describe('MemoryRateLimiter (rolling window)', () => {
  it('allows at most N hits in any rolling window and says when to retry', async () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter(() => now);
    const results = [];
    for (let i = 0; i < 12; i += 1) {
      results.push(await limiter.hit('a', 10, 1000));
      now += 10;
    }
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    expect(results[10]).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // 990 ms after the first hit the window still holds ten; at 1000 ms the first one leaves.
    now = 1_000_000 + 999;
    expect((await limiter.hit('a', 10, 1000)).allowed).toBe(false);
    now = 1_000_000 + 1000;
    expect((await limiter.hit('a', 10, 1000)).allowed).toBe(true);
  });

  it('has no burst at a window edge, unlike a fixed window', async () => {
    let now = 999;
    const limiter = new MemoryRateLimiter(() => now);
    for (let i = 0; i < 10; i += 1) expect((await limiter.hit('k', 10, 1000)).allowed).toBe(true);
    now = 1001; // a fixed window would have reset at 1000
    expect((await limiter.hit('k', 10, 1000)).allowed).toBe(false);
  });

  it('keeps keys apart and rounds Retry-After up to whole seconds', async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter(() => now);
    expect((await limiter.hit('x', 1, 5000)).allowed).toBe(true);
    expect((await limiter.hit('y', 1, 5000)).allowed).toBe(true);
    now = 100;
    expect(await limiter.hit('x', 1, 5000)).toEqual({ allowed: false, retryAfterSeconds: 5 });
  });
});
