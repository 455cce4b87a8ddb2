/**
 * @module Small HTTP pieces for the console: cookies, bounded body reading, and responses that
 * always carry the console's security headers (strict CSP, nosniff, no referrer, no caching).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBoundedBody } from '../bounded-body.js';

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Forms and JSON bodies here are tiny; anything bigger is refused. */
export const MAX_BODY_BYTES = 16 * 1024;

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer Chrome sends `Origin: null` on form posts, which
  // the CSRF origin check must refuse. Nothing leaks cross-site either way.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

export { BodyTimeout, BodyTooLarge } from '../bounded-body.js';

export function parseCookies(req: IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || cookies.has(name)) continue;
    cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

export interface CookieOptions {
  path: string;
  maxAgeSeconds: number;
  secure: boolean;
}

/** Always HttpOnly and SameSite=Strict; Secure when the gateway is reached over https. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [
    `${name}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

/** A console body takes at most this long to arrive (a trickle holds a connection otherwise). */
export const BODY_TIMEOUT_MS = 10_000;

/** Reads a small console body within {@link MAX_BODY_BYTES} and {@link BODY_TIMEOUT_MS}. */
export function readBody(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<Buffer> {
  return readBoundedBody(req, maxBytes, BODY_TIMEOUT_MS);
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  extra: Record<string, string | string[] | number> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    ...extra,
  });
  res.end(html);
}

export function sendConsoleJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  extra: Record<string, string | number> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

export function sendJsonError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string | number> = {},
): void {
  sendConsoleJson(res, status, { error: { code, message } }, extra);
}

/** 303 See Other: after a POST the browser follows with a GET. */
export function redirect(res: ServerResponse, location: string, cookies: string[] = []): void {
  const headers: Record<string, string | string[] | number> = {
    ...SECURITY_HEADERS,
    location,
    'content-length': 0,
  };
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  res.writeHead(303, headers);
  res.end();
}

export function sendAsset(res: ServerResponse, contentType: string, body: string): void {
  res.writeHead(200, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'cache-control': 'public, max-age=3600',
  });
  res.end(body);
}

/**
 * A local path to go back to after sign-in, or undefined: only `/console…` and `/device…` paths
 * on this origin, never `//host`, `/\host` or an absolute URL (no open redirect).
 */
export function safeNext(next: string | null | undefined): string | undefined {
  if (!next || next.length > 512 || !next.startsWith('/') || next.startsWith('//')) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return undefined;
  let url: URL;
  try {
    url = new URL(next, 'http://sphyr.invalid');
  } catch {
    return undefined;
  }
  if (url.origin !== 'http://sphyr.invalid') return undefined;
  const path = url.pathname;
  const allowed =
    path === '/console' || path.startsWith('/console/') || path === '/device' || path.startsWith('/device/');
  if (!allowed || path.startsWith('/console/login')) return undefined;
  return `${url.pathname}${url.search}`;
}
