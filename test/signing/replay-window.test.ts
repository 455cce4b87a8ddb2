import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SphyrAuthError } from '../../src/errors.js';
import {
  contentDigest,
  MemoryNonceStore,
  type RequestFacts,
  signRequest,
  verifySignedRequest,
} from '../../src/signing/index.js';

const KEY = Buffer.alloc(32, 7);
const KEY_ID = 'key_replay';
const T0 = 1_767_225_600;
const FACTS: RequestFacts = {
  method: 'POST',
  authority: 'gw.example.test:7470',
  path: '/v1/relay',
  query: '',
  targetUri: 'https://api.example.com/v1/responses',
  contentDigest: contentDigest('{}'),
  agentId: 'agt_1',
};

/** Integers in min..max, half the time one of the edges (min, max and `extra`), where replays hide. */
function edgy(min: number, max: number, ...extra: number[]): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(min, max, ...extra), fc.integer({ min, max }));
}

/**
 * One signature and one nonce store on a modelled clock (ms). `attempt(atMs)` verifies the same
 * signed request at that gateway time, as authenticate does (whole seconds for the window, the
 * store on the same clock), and says whether it was accepted.
 */
function scenario(created: number, lifetimeSeconds: number) {
  let clockMs = 0;
  const store = new MemoryNonceStore({ now: () => clockMs });
  const signed = signRequest({
    kind: 'relay',
    facts: FACTS,
    keyId: KEY_ID,
    key: KEY,
    nowSeconds: created,
    lifetimeSeconds,
  });
  return {
    expires: signed.params.expires,
    async attempt(atMs: number): Promise<'accepted' | string> {
      clockMs = atMs;
      try {
        await verifySignedRequest({
          kind: 'relay',
          facts: FACTS,
          signatureInput: signed.signatureInput,
          signature: signed.signature,
          nowSeconds: Math.floor(atMs / 1000),
          lookupKey: async () => KEY,
          nonceStore: store,
        });
        return 'accepted';
      } catch (error) {
        if (!(error instanceof SphyrAuthError)) throw error;
        return error.code;
      }
    },
  };
}

describe('a nonce is remembered for as long as its signature can be accepted', () => {
  it('signed 60 s ahead with a 300 s lifetime: a replay at +360 s is refused', async () => {
    const s = scenario(T0 + 60, 300);
    expect(await s.attempt(T0 * 1000)).toBe('accepted');
    expect(await s.attempt((T0 + 360) * 1000)).toBe('replay');
  });

  it('first used mid-second: a replay in the last acceptable second is refused', async () => {
    const s = scenario(T0 + 60, 300);
    expect(await s.attempt(T0 * 1000 + 500)).toBe('accepted');
    // 360.6 s after first use; the window still accepts the signature (now = expires).
    expect(await s.attempt((T0 + 360) * 1000 + 600)).toBe('replay');
  });

  it('after its expiry a replay is refused by the window (clock_skew), not let through', async () => {
    const s = scenario(T0 + 60, 300);
    expect(await s.attempt(T0 * 1000)).toBe('accepted');
    expect(await s.attempt((T0 + 361) * 1000)).toBe('clock_skew');
  });

  it('property: over created, lifetime, skew, first use and replay time, no replay is accepted', async () => {
    await fc.assert(
      fc.asyncProperty(
        // created − now at first use: the whole accepted range (−300 s … +60 s).
        edgy(-300, 60),
        edgy(1, 300),
        edgy(0, 999),
        // Replay: whole seconds before the signature's expiry (negative: after it), and the
        // millisecond within that second. The range reaches back before the first use, which
        // models a clock stepped backwards.
        edgy(-3, 800, 0),
        edgy(0, 999),
        async (createdAhead, lifetime, firstMs, replayBack, replayMs) => {
          const s = scenario(T0 + createdAhead, lifetime);
          const first = await s.attempt(T0 * 1000 + firstMs);
          fc.pre(first === 'accepted');
          const replayAt = (s.expires - replayBack) * 1000 + replayMs;
          expect(await s.attempt(replayAt)).not.toBe('accepted');
        },
      ),
      { numRuns: 3000 },
    );
  });
});
