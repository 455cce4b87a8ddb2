/**
 * @module Errors. One base class with a stable string `code`; each surface (CLI, gateway HTTP,
 * sphyr-mcp) translates these in exactly one place.
 */

/** Brand shared across module copies, so `isSphyrError` works where `instanceof` cannot. */
const BRAND = Symbol.for('sphyr.error');

export interface SphyrErrorOptions {
  cause?: unknown;
}

export class SphyrError extends Error {
  /** Stable, machine-readable code such as `bad_signature` or `ssrf_link_local`. */
  readonly code: string;

  constructor(code: string, message: string, options: SphyrErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * The gateway could not be used. `gateway_unreachable`: nothing reached it, so nothing was sent to the
 * target; `gateway_connection_lost`: the connection broke after sending, the target may have it.
 */
export class SphyrNetworkError extends SphyrError {}

/** A request was refused by SSRF screening or policy; `code` is the reason (`ssrf_link_local`, `policy_denied_host`…). */
export class SphyrPolicyError extends SphyrError {}

/** Authentication failed: `bad_signature`, `replay`, `clock_skew`, `unknown_key`, `key_revoked`, `agent_expired`… */
export class SphyrAuthError extends SphyrError {
  /** For `clock_skew`: the gateway's clock (ms since epoch) from its `Date` header, when known. */
  readonly serverTime: number | undefined;
  constructor(code: string, message: string, options: SphyrErrorOptions & { serverTime?: number } = {}) {
    super(code, message, options);
    this.serverTime = options.serverTime;
  }
}

/** A local file, variable or option is missing or malformed; the message names which and what to do. */
export class SphyrConfigError extends SphyrError {}

/** Over a rate limit; `retryAfterSeconds` is what `Retry-After` says. */
export class SphyrRateLimitError extends SphyrError {
  readonly retryAfterSeconds: number;
  constructor(code: string, message: string, retryAfterSeconds: number, options: SphyrErrorOptions = {}) {
    super(code, message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The caller sent something malformed (bad JSON, missing header, oversized body). */
export class SphyrRequestError extends SphyrError {}

export function isSphyrError(value: unknown): value is SphyrError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Message of any thrown value, for surfaces that must say something. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
