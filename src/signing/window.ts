/**
 * @module The freshness window of `sphyr-req-v1` (DESIGN §3.2).
 *
 * Every failure here is `clock_skew` carrying the gateway's time, because every one of them is what a
 * client with a wrong clock produces and what the client's "correct the offset and retry once" cures.
 * That includes `now > expires`: with our 60 s lifetime a client 61–300 s behind has a `created`
 * inside the window but an expired signature, so a separate `signature_expired` code would leave
 * exactly that client unable to recover. A lifetime outside 1..300 s is a signer bug rather than a
 * clock, but DESIGN states the window as one rule and one wasted retry is harmless, so it shares the
 * code. The message always says which bound failed.
 *
 * `lastAcceptableSecond` solves the same rules for the latest gateway time that still accepts a
 * signature; the nonce store keeps each nonce until then, so a replay can never outlive its nonce.
 */
import { SphyrAuthError } from '../errors.js';
import { MAX_FUTURE_SECONDS, MAX_LIFETIME_SECONDS, MAX_PAST_SECONDS } from './profile.js';
import type { SignatureParams } from './signature-base.js';

/**
 * Throws `SphyrAuthError('clock_skew', …, { serverTime: nowSeconds * 1000 })` unless
 * `now − 300 ≤ created ≤ now + 60`, `created < expires ≤ created + 300` and `now ≤ expires`.
 */
export function checkWindow(params: Pick<SignatureParams, 'created' | 'expires'>, nowSeconds: number): void {
  const now = Math.floor(nowSeconds);
  const { created, expires } = params;
  const fail = (message: string): never => {
    throw new SphyrAuthError('clock_skew', `${message} (gateway time ${now})`, {
      serverTime: nowSeconds * 1000,
    });
  };
  if (expires <= created || expires - created > MAX_LIFETIME_SECONDS) {
    fail(
      `signature lifetime must be 1..${MAX_LIFETIME_SECONDS} s, got expires − created = ${expires - created}`,
    );
  }
  if (created < now - MAX_PAST_SECONDS)
    fail(`created ${created} is more than ${MAX_PAST_SECONDS} s in the past`);
  if (created > now + MAX_FUTURE_SECONDS)
    fail(`created ${created} is more than ${MAX_FUTURE_SECONDS} s in the future`);
  if (now > expires) fail(`signature expired at ${expires}`);
}

/**
 * The last whole second of gateway time at which `checkWindow` accepts `params`: it needs
 * `now ≤ expires` and `now ≤ created + 300`; the other bounds only ever fail earlier. Derived from
 * the window's own constants so a change to the window moves the nonce lifetime with it.
 */
export function lastAcceptableSecond(params: Pick<SignatureParams, 'created' | 'expires'>): number {
  return Math.min(params.expires, params.created + MAX_PAST_SECONDS);
}
