/**
 * @module Console sessions and CSRF. The session cookie holds 32 random bytes; the store keeps
 * only their SHA-256. Every state-changing request carries the session's CSRF token (form field
 * `_csrf` or header `X-CSRF-Token`), compared in constant time, and a cross-site `Origin` or
 * `Sec-Fetch-Site` is refused outright.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { GatewayContext } from '../context.js';
import type { AdminRecord, SessionRecord } from '../store/types.js';
import { parseCookies, serializeCookie } from './http.js';

export const SESSION_COOKIE = 'sphyr_session';
export const LOGIN_CSRF_COOKIE = 'sphyr_login_csrf';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const LOGIN_CSRF_TTL_SECONDS = 60 * 60;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface ConsoleSession {
  record: SessionRecord;
  admin: AdminRecord;
}

export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/** Constant-time equality for tokens (different lengths are simply unequal). */
export function tokensEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}

export function isSecure(ctx: GatewayContext): boolean {
  return ctx.publicUrl.startsWith('https:');
}

export function sessionCookie(ctx: GatewayContext, id: string): string {
  return serializeCookie(SESSION_COOKIE, id, {
    path: '/',
    maxAgeSeconds: SESSION_TTL_MS / 1000,
    secure: isSecure(ctx),
  });
}

export function clearSessionCookie(ctx: GatewayContext): string {
  return serializeCookie(SESSION_COOKIE, '', { path: '/', maxAgeSeconds: 0, secure: isSecure(ctx) });
}

export function loginCsrfCookie(ctx: GatewayContext, token: string): string {
  return serializeCookie(LOGIN_CSRF_COOKIE, token, {
    path: '/console/login',
    maxAgeSeconds: LOGIN_CSRF_TTL_SECONDS,
    secure: isSecure(ctx),
  });
}

export function clearLoginCsrfCookie(ctx: GatewayContext): string {
  return serializeCookie(LOGIN_CSRF_COOKIE, '', {
    path: '/console/login',
    maxAgeSeconds: 0,
    secure: isSecure(ctx),
  });
}

/** The login form's token from its cookie when it looks like one of ours. */
export function loginCsrfFromCookie(req: IncomingMessage): string | undefined {
  const value = parseCookies(req).get(LOGIN_CSRF_COOKIE);
  return value && TOKEN.test(value) ? value : undefined;
}

/** The signed-in session, or undefined (no cookie, unknown, expired, or its admin is gone). */
export async function loadSession(
  ctx: GatewayContext,
  req: IncomingMessage,
): Promise<ConsoleSession | undefined> {
  const id = parseCookies(req).get(SESSION_COOKIE);
  if (!id || !TOKEN.test(id)) return undefined;
  const record = await ctx.store.getSession(hashSessionId(id));
  if (!record) return undefined;
  if (record.expiresAt <= ctx.now()) {
    await ctx.store.deleteSession(record.idHash);
    return undefined;
  }
  const admin = await ctx.store.getAdmin(record.adminId);
  return admin ? { record, admin } : undefined;
}

/** A new session for `admin`; returns the cookie value (only its hash is stored). */
export async function createSession(ctx: GatewayContext, admin: AdminRecord): Promise<string> {
  const id = randomToken();
  const now = ctx.now();
  await ctx.store.putSession({
    idHash: hashSessionId(id),
    adminId: admin.id,
    csrfToken: randomToken(),
    createdAt: now,
    expiresAt: now + SESSION_TTL_MS,
  });
  return id;
}

function ownOrigins(ctx: GatewayContext, req: IncomingMessage): Set<string> {
  const origins = new Set<string>();
  try {
    origins.add(new URL(ctx.publicUrl).origin);
  } catch {
    // No usable public URL: the Host header below is all we have.
  }
  const host = req.headers.host;
  if (host) {
    for (const scheme of ['http', 'https']) {
      try {
        origins.add(new URL(`${scheme}://${host}`).origin);
      } catch {
        // A malformed Host matches nothing.
      }
    }
  }
  return origins;
}

/**
 * False when the browser says the request comes from another site: `Sec-Fetch-Site: cross-site`,
 * or an `Origin` that is not this gateway (including `null`). Absent headers pass (scripts).
 */
export function sameOrigin(ctx: GatewayContext, req: IncomingMessage): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return ownOrigins(ctx, req).has(origin);
}

/** The request is same-origin and carries this session's CSRF token. */
export function csrfValid(
  ctx: GatewayContext,
  req: IncomingMessage,
  session: ConsoleSession,
  token: string | undefined | null,
): boolean {
  if (!sameOrigin(ctx, req)) return false;
  return typeof token === 'string' && tokensEqual(token, session.record.csrfToken);
}
