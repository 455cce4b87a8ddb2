/**
 * @module How the OAuth endpoints answer: RFC 6749 §5.1/§5.2 JSON, never cached. Errors are
 * `{"error","error_description"}` (plus optional extension fields such as `interval`), so every
 * client (gh, openid-client, `sphyr login`) can switch on `error` rather than on the status code.
 */

import type { ServerResponse } from 'node:http';

/** The OAuth error codes these endpoints use (RFC 6749 §5.2, RFC 8628 §3.5). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'unsupported_grant_type'
  | 'authorization_pending'
  | 'slow_down'
  | 'access_denied'
  | 'expired_token'
  | 'not_found'
  | 'server_error';

export interface AnswerOptions {
  headers?: Record<string, string | number>;
  /** Close the connection after answering (the request body was not read to its end). */
  close?: boolean;
}

/** A JSON answer with `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1). */
export function sendOAuthJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  options: AnswerOptions = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    pragma: 'no-cache',
    ...(options.close ? { connection: 'close' } : {}),
    ...options.headers,
  });
  res.end(body);
}

export class OAuthError extends Error {
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    readonly status = 400,
    readonly extra: { fields?: Record<string, unknown>; headers?: Record<string, string | number> } = {},
  ) {
    super(description);
  }
}

export function sendOAuthError(res: ServerResponse, error: OAuthError, close = false): void {
  sendOAuthJson(
    res,
    error.status,
    { error: error.code, error_description: error.description, ...error.extra.fields },
    { headers: error.extra.headers, close },
  );
}
