/**
 * @module What a failed send to the gateway means for the caller. `gateway_unreachable` promises
 * that nothing was sent to the target, so it is said only when nothing reached the gateway: the
 * connection was never made (refused, no route, DNS, TLS). A connection that broke after the request
 * went out is `gateway_connection_lost`, and a gateway that did not answer in time is
 * `gateway_timeout`: in both the gateway may have acted, so the request is never resent or sent direct.
 */
import { SphyrNetworkError } from '../errors.js';

/** Failures before any request byte reaches the gateway: the system calls and TLS checks of connecting. */
const BEFORE_SENDING_SYSCALLS = new Set(['connect', 'getaddrinfo', 'getaddrinfo_6', 'queryA', 'queryAaaa']);
const BEFORE_SENDING_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NODATA',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

interface NodeErrorFacts {
  code?: unknown;
  syscall?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The error and what it wraps (fetch's `cause`, axios's `cause`, a happy-eyeballs AggregateError). */
function* chain(error: unknown, depth = 0): Generator<NodeErrorFacts> {
  if (!error || typeof error !== 'object' || depth > 5) return;
  const e = error as NodeErrorFacts;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* chain(inner, depth + 1);
  yield* chain(e.cause, depth + 1);
}

function codeOf(error: unknown): string | undefined {
  for (const e of chain(error)) if (typeof e.code === 'string') return e.code;
  return undefined;
}

/** Did this send fail before any byte of the request reached the gateway? */
export function failedBeforeSending(error: unknown): boolean {
  for (const e of chain(error)) {
    // fetch refuses the Fetch standard's "bad ports" (9, 6000, …) before it connects at all.
    if ((e as { message?: unknown }).message === 'bad port') return true;
    if (typeof e.syscall === 'string' && BEFORE_SENDING_SYSCALLS.has(e.syscall)) return true;
    if (typeof e.code === 'string' && BEFORE_SENDING_CODES.has(e.code)) return true;
  }
  return false;
}

/** The gateway could not be reached: fail closed, saying so. */
export function unreachable(gatewayUrl: string, error: unknown): SphyrNetworkError {
  return new SphyrNetworkError(
    'gateway_unreachable',
    `cannot reach the Sphyr gateway at ${gatewayUrl} (${codeOf(error) ?? (error as Error)?.message}); nothing was sent to the target`,
    { cause: error },
  );
}

/** The gateway did not answer within Sphyr's own time limit: it may have taken the request. */
export function gatewayTimeout(gatewayUrl: string, what: string, ms: number): SphyrNetworkError {
  return new SphyrNetworkError(
    'gateway_timeout',
    `the Sphyr gateway at ${gatewayUrl} did not answer ${what} within ${ms / 1000} s; it may have received it, so the request was not sent again or direct`,
  );
}

/** A failed send to the gateway, as the caller should see it. */
export function gatewayFailure(gatewayUrl: string, error: unknown): SphyrNetworkError {
  if (failedBeforeSending(error)) return unreachable(gatewayUrl, error);
  return new SphyrNetworkError(
    'gateway_connection_lost',
    `the connection to the Sphyr gateway at ${gatewayUrl} broke before its answer (${codeOf(error) ?? (error as Error)?.message}); the target may have received the request, so it was not sent again`,
    { cause: error },
  );
}
