import { describe, expect, it } from 'vitest';
import { MemoryNonceStore, nonceKey } from '../../src/signing/index.js';

const TTL = { ttlMs: 360_000 };

function fakeClock(start = 1_767_225_600_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('MemoryNonceStore', () => {
  it('set-if-absent: first true, then false', async () => {
    const store = new MemoryNonceStore();
    const key = nonceKey('key_1', 'AAAAAAAAAAAAAAAAAAAAAA');
    expect(key).toBe('key_1:AAAAAAAAAAAAAAAAAAAAAA');
    expect(await store.setIfAbsent(key, TTL)).toBe(true);
    expect(await store.setIfAbsent(key, TTL)).toBe(false);
    expect(await store.setIfAbsent(nonceKey('key_2', 'AAAAAAAAAAAAAAAAAAAAAA'), TTL)).toBe(true);
  });

  it('forgets a key after its TTL, not before', async () => {
    const clock = fakeClock();
    const store = new MemoryNonceStore({ now: clock.now });
    expect(await store.setIfAbsent('k:n', TTL)).toBe(true);
    clock.advance(359_999);
    expect(await store.setIfAbsent('k:n', TTL)).toBe(false);
    clock.advance(1);
    expect(await store.setIfAbsent('k:n', TTL)).toBe(true);
    // Re-recorded with a fresh TTL.
    clock.advance(359_999);
    expect(await store.setIfAbsent('k:n', TTL)).toBe(false);
  });

  it('an expired entry behind a live one is still treated as absent', async () => {
    const clock = fakeClock();
    const store = new MemoryNonceStore({ now: clock.now });
    await store.setIfAbsent('long', { ttlMs: 1_000_000 });
    await store.setIfAbsent('short', { ttlMs: 1000 });
    clock.advance(2000);
    // The sweep stops at the live head, but the lookup checks the expiry itself.
    expect(await store.setIfAbsent('short', { ttlMs: 1000 })).toBe(true);
  });

  it('sweeping keeps the size bounded by the insertion rate × TTL', async () => {
    const clock = fakeClock();
    const store = new MemoryNonceStore({ now: clock.now });
    const ttl = 10;
    let max = 0;
    // 100 inserts per second for 60 s: at most ~ttl × 100 live entries at any time.
    for (let i = 0; i < 6000; i++) {
      await store.setIfAbsent(`k:${i}`, { ttlMs: ttl * 1000 });
      clock.advance(10);
      max = Math.max(max, store.size);
    }
    expect(max).toBeLessThanOrEqual(ttl * 100 + 1);
    expect(store.size).toBeLessThanOrEqual(ttl * 100 + 1);
  });

  it('drains a large expired backlog within a bounded number of calls', async () => {
    const clock = fakeClock();
    const store = new MemoryNonceStore({ now: clock.now });
    for (let i = 0; i < 1000; i++) await store.setIfAbsent(`old:${i}`, { ttlMs: 1000 });
    expect(store.size).toBe(1000);
    clock.advance(5000);
    // Each call removes at most 64 expired entries, so 1000 go within 16 calls.
    for (let i = 0; i < 16; i++) await store.setIfAbsent(`new:${i}`, TTL);
    expect(store.size).toBe(16);
  });
});
