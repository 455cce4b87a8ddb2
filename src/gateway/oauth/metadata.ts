/**
 * @module RFC 8414 authorization-server metadata, so standard clients discover the RFC 8628
 * endpoints (RFC 8628 §4). Only the device grant exists: there is no authorization endpoint, so
 * `response_types_supported` (REQUIRED by RFC 8414 §2) is honestly empty, and clients are public
 * (`none`: a CLI cannot keep a client secret, RFC 8628 §5.6).
 */

import type { ServerResponse } from 'node:http';
import { DEVICE_GRANT_TYPE, SUPPORTED_SCOPES } from './device-code.js';

export const METADATA_PATH = '/.well-known/oauth-authorization-server';

export interface AuthorizationServerMetadata {
  issuer: string;
  device_authorization_endpoint: string;
  token_endpoint: string;
  grant_types_supported: string[];
  response_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  scopes_supported: string[];
}

/** The metadata for a gateway reached at `publicUrl` (no trailing slash); issuer is exactly it. */
export function authorizationServerMetadata(publicUrl: string): AuthorizationServerMetadata {
  return {
    issuer: publicUrl,
    device_authorization_endpoint: `${publicUrl}/oauth/device/code`,
    token_endpoint: `${publicUrl}/oauth/token`,
    grant_types_supported: [DEVICE_GRANT_TYPE],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['none'],
    scopes_supported: [...SUPPORTED_SCOPES],
  };
}

/**
 * The well-known paths this gateway answers: the plain one, and RFC 8414 §3.1's form with the
 * issuer's path appended, for a gateway published under a path prefix.
 */
export function isMetadataPath(path: string, publicUrl: string): boolean {
  if (path === METADATA_PATH) return true;
  let issuerPath = '/';
  try {
    issuerPath = new URL(publicUrl).pathname.replace(/\/+$/, '');
  } catch {
    return false;
  }
  return issuerPath !== '' && path === `${METADATA_PATH}${issuerPath}`;
}

export function sendMetadata(res: ServerResponse, publicUrl: string, headOnly: boolean): void {
  const body = JSON.stringify(authorizationServerMetadata(publicUrl));
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    // Public and stable for the life of the process; short enough that a changed --public-url shows soon.
    'cache-control': 'public, max-age=300',
  });
  res.end(headOnly ? undefined : body);
}
