import type { ServerResponse } from 'node:http';
import {
  isSphyrError,
  SphyrAuthError,
  SphyrConfigError,
  SphyrNetworkError,
  SphyrPolicyError,
  SphyrRateLimitError,
  SphyrRequestError,
} from '../errors.js';
import type { Outcome } from './store/types.js';

/** What the gateway answers for an error it made itself (DESIGN §3.3). */
export interface Refusal {
  status: number;
  outcome: Outcome;
  code: string;
  message: string;
  retryAfterSeconds?: number;
}

const REQUEST_STATUS: Record<string, number> = {
  body_too_large: 413,
  header_too_large: 431,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  too_many_connections: 503,
  tunnel_upgrade_required: 426,
};

// A request signed for another host (RFC 9110 §15.5.20: not a server that answers for that URI).
const AUTH_STATUS: Record<string, number> = { wrong_authority: 421 };
// Load shedding rather than a caller's own rate: the gateway is busy (RFC 9110 §15.6.4).
const RATE_LIMIT_STATUS: Record<string, number> = { spool_full: 503 };

/** The one place gateway errors become HTTP: status, `Sphyr-Outcome` and a stable `code`. */
export function refusalFor(error: unknown): Refusal {
  if (error instanceof SphyrRateLimitError) {
    return {
      status: RATE_LIMIT_STATUS[error.code] ?? 429,
      outcome: 'rate_limited',
      code: error.code,
      message: error.message,
      retryAfterSeconds: error.retryAfterSeconds,
    };
  }
  if (error instanceof SphyrAuthError) {
    return {
      status: AUTH_STATUS[error.code] ?? 401,
      outcome: 'unauthorized',
      code: error.code,
      message: error.message,
    };
  }
  if (error instanceof SphyrPolicyError) {
    return { status: 403, outcome: 'blocked', code: error.code, message: error.message };
  }
  if (error instanceof SphyrRequestError) {
    return {
      status: REQUEST_STATUS[error.code] ?? 400,
      outcome: 'error',
      code: error.code,
      message: error.message,
    };
  }
  if (error instanceof SphyrNetworkError) {
    const status = error.code === 'upstream_timeout' ? 504 : 502;
    return { status, outcome: 'error', code: error.code, message: error.message };
  }
  if (isSphyrError(error) && !(error instanceof SphyrConfigError)) {
    return { status: 500, outcome: 'error', code: error.code, message: error.message };
  }
  // Unknown failures say nothing about internals to the caller; the operator sees them on stderr.
  return {
    status: 500,
    outcome: 'error',
    code: 'internal_error',
    message: 'the gateway failed to handle this request',
  };
}

/** Send a refusal as `{"error":{code,message,requestId}}` with `Sphyr-Outcome`. */
export function sendRefusal(res: ServerResponse, refusal: Refusal, requestId: string, now: number): void {
  const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message, requestId } });
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'sphyr-request-id': requestId,
    'sphyr-outcome': refusal.outcome,
    // The gateway's own clock: clients correct a clock_skew against it.
    date: new Date(now).toUTCString(),
  };
  if (refusal.retryAfterSeconds !== undefined) headers['retry-after'] = refusal.retryAfterSeconds;
  res.writeHead(refusal.status, headers);
  res.end(body);
}

/** A JSON answer the gateway makes itself on success. */
export function sendJson(res: ServerResponse, status: number, value: unknown, requestId: string): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'sphyr-request-id': requestId,
    'sphyr-outcome': 'allowed',
  });
  res.end(body);
}
