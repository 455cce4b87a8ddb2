/**
 * @module Replay protection: a set-if-absent store of used `keyid:nonce` pairs, each kept for its
 * own TTL. The verifier writes to it only after the HMAC checked out, so unauthenticated traffic
 * cannot fill it, and gives each nonce a TTL that lasts until its signature can no longer be
 * accepted (window.ts `lastAcceptableSecond`), so no replay outlives its nonce.
 */

/** Options for one `setIfAbsent`. */
export interface NonceSetOptions {
  /** How long to keep the key, in milliseconds (Redis: `SET key 1 NX PX ttlMs`). */
  ttlMs: number;
}

/** Backend for used nonces (memory here; a shared store such as Redis `SET NX PX` when scaled out). */
export interface NonceStore {
  /**
   * Records `key` for `options.ttlMs` if it is not already recorded (or has expired).
   * Resolves `true` when it was recorded now, `false` when it was already present (a replay).
   */
  setIfAbsent(key: string, options: NonceSetOptions): Promise<boolean>;
  /**
   * The first second (epoch) from which this store remembers every nonce, for a store that forgets
   * (memory: a restarted gateway starts empty). A signature created before it may have been used
   * already, so the verifier refuses it; undefined for a store that outlives restarts.
   */
  readonly rememberedSinceSeconds?: number;
}

/** The nonce-store key for a signature: key ids cannot contain `:`, so this is unambiguous. */
export function nonceKey(keyId: string, nonce: string): string {
  return `${keyId}:${nonce}`;
}

export interface MemoryNonceStoreOptions {
  /** Clock in milliseconds since the epoch; injectable for tests. Defaults to `Date.now`. */
  now?: () => number;
  /** See {@link NonceStore.rememberedSinceSeconds}; defaults to the second the store is made. */
  rememberedSinceSeconds?: number;
}

// Bounds the work one call does after a long idle period; two or more per insert is enough for the
// sweep to outpace insertions, so the backlog still drains.
const SWEEP_PER_CALL = 64;

/**
 * In-process `NonceStore`. Entries live in a `Map` in insertion order; each call removes expired
 * entries from the oldest end (at most 64), so every entry is removed at most once (O(1) amortised)
 * and no timer keeps the process alive. TTLs differ per signature, so an expired entry may wait
 * behind a longer-lived one: memory is bounded by what was inserted within the longest TTL (the
 * verifier's are at most 363 s). Expiry uses the same clock as the verifier's window.
 */
export class MemoryNonceStore implements NonceStore {
  readonly #now: () => number;
  /** key → expiry time in ms. */
  readonly #entries = new Map<string, number>();

  readonly rememberedSinceSeconds: number;

  constructor(options: MemoryNonceStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.rememberedSinceSeconds = options.rememberedSinceSeconds ?? Math.floor(this.#now() / 1000);
  }

  /** Number of entries held, expired-but-not-yet-swept ones included. */
  get size(): number {
    return this.#entries.size;
  }

  setIfAbsent(key: string, options: NonceSetOptions): Promise<boolean> {
    const now = this.#now();
    this.#sweep(now);
    const expiresAt = this.#entries.get(key);
    if (expiresAt !== undefined) {
      if (expiresAt > now) return Promise.resolve(false);
      // Expired but not yet swept: delete first so the re-insert moves it to the young end.
      this.#entries.delete(key);
    }
    this.#entries.set(key, now + options.ttlMs);
    return Promise.resolve(true);
  }

  #sweep(now: number): void {
    let budget = SWEEP_PER_CALL;
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt > now || budget-- === 0) return;
      this.#entries.delete(key);
    }
  }
}
