/**
 * @module The console (DESIGN §1, §3.8): sign-in, the /device approval page, key management pages,
 * and the console JSON API under /v1/console/ for scripts. Server-rendered HTML, no script, a
 * strict CSP; every state change needs a session and its CSRF token.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIp } from '../client-ip.js';
import type { GatewayContext } from '../context.js';
import { approveGrant, denyGrant, findGrantForApproval, normalizeUserCode } from '../oauth/device-grants.js';
import type { DeviceGrantRecord } from '../store/types.js';
import { dummyPasswordHash, verifyPassword } from './admin.js';
import { CONSOLE_CSS } from './assets.js';
import { API_EXTENSIONS, PAGE_EXTENSIONS } from './extensions.js';
import {
  credentialPage,
  deviceCodePage,
  deviceConfirmPage,
  esc,
  formatSpan,
  keysPage,
  layout,
  loginPage,
  messagePage,
  type PageUser,
} from './html.js';
import {
  BodyTimeout,
  BodyTooLarge,
  mediaType,
  parseCookies,
  readBody,
  redirect,
  safeNext,
  sendAsset,
  sendConsoleJson,
  sendHtml,
  sendJsonError,
} from './http.js';
import {
  createKey,
  KEY_ID_PATTERN,
  type KeyOpResult,
  keyJson,
  renameKey,
  revokeKey,
  rotateKey,
} from './keys.js';
import {
  type ConsoleCall,
  methodNotAllowed,
  readJson,
  csrfFailedPage as refuseCsrf,
  unsupportedFormPage,
} from './request.js';
import {
  type ConsoleSession,
  clearLoginCsrfCookie,
  clearSessionCookie,
  createSession,
  csrfValid,
  hashSessionId,
  loadSession,
  loginCsrfCookie,
  loginCsrfFromCookie,
  randomToken,
  SESSION_COOKIE,
  sameOrigin,
  sessionCookie,
  tokensEqual,
} from './session.js';
import { throttlesFor } from './throttle.js';

const MAX_USERNAME = 100;
const MAX_PASSWORD = 1024;

type Call = ConsoleCall;

class UnsupportedMedia extends Error {}

function pageUser(session: ConsoleSession): PageUser {
  return { username: session.admin.username, csrfToken: session.record.csrfToken };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  if (mediaType(req) !== 'application/x-www-form-urlencoded') {
    req.resume();
    throw new UnsupportedMedia();
  }
  return new URLSearchParams((await readBody(req)).toString('utf8'));
}

function notFoundPage(call: Call, session?: ConsoleSession): void {
  sendHtml(
    call.res,
    404,
    messagePage(
      'Not found',
      'There is no such console page.',
      session && pageUser(session),
      '<p><a href="/console">Overview</a></p>',
    ),
  );
}

function csrfFailedPage(call: Call, session?: ConsoleSession): void {
  refuseCsrf(call.res, session && pageUser(session));
}

function tooManyPage(call: Call, what: string, retryAfter: number, session?: ConsoleSession): void {
  const at = new Date(call.ctx.now() + retryAfter * 1000).toISOString().slice(11, 16);
  sendHtml(
    call.res,
    429,
    messagePage(
      'Too many attempts',
      `Too many ${what}. Try again in ${formatSpan(retryAfter * 1000)} (after ${at} UTC).`,
      session && pageUser(session),
    ),
    { 'retry-after': retryAfter },
  );
}

/** The signed-in session for a page, or a redirect to sign-in (which comes back to `next`). */
async function requirePageSession(call: Call, next: string): Promise<ConsoleSession | undefined> {
  const session = await loadSession(call.ctx, call.req);
  if (session) return session;
  if (call.method === 'POST') call.req.resume();
  redirect(call.res, `/console/login?next=${encodeURIComponent(next)}`);
  return undefined;
}

// ---------------------------------------------------------------- sign-in

async function showLogin(call: Call, status = 200, error?: string, username?: string, nextRaw?: string) {
  const token = loginCsrfFromCookie(call.req) ?? randomToken();
  const next = safeNext(nextRaw ?? call.url.searchParams.get('next'));
  sendHtml(call.res, status, loginPage({ csrf: token, next, error, username }), {
    'set-cookie': [loginCsrfCookie(call.ctx, token)],
  });
}

async function handleLogin(call: Call): Promise<void> {
  if (call.method === 'GET' || call.method === 'HEAD') {
    if (await loadSession(call.ctx, call.req)) {
      redirect(call.res, safeNext(call.url.searchParams.get('next')) ?? '/console');
      return;
    }
    return showLogin(call);
  }
  if (call.method !== 'POST') return methodNotAllowed(call, 'GET, POST');
  const form = await readForm(call.req);
  const cookieToken = loginCsrfFromCookie(call.req);
  const formToken = form.get('_csrf');
  const next = form.get('next') ?? undefined;
  if (!sameOrigin(call.ctx, call.req) || !cookieToken || !formToken || !tokensEqual(cookieToken, formToken)) {
    return showLogin(
      call,
      403,
      'The sign-in form was out of date (csrf_failed); please try again.',
      '',
      next,
    );
  }
  const username = (form.get('username') ?? '').trim().slice(0, MAX_USERNAME);
  const password = (form.get('password') ?? '').slice(0, MAX_PASSWORD);
  const now = call.ctx.now();
  const { signIn } = throttlesFor(call.ctx);
  const keys = [`ip:${call.ip}`, `user:${username.toLowerCase()}`];
  const attempt = signIn.begin(keys, now);
  if (!attempt.allowed) return tooManyPage(call, 'failed sign-ins', attempt.retryAfterSeconds);
  const admin = username ? await call.ctx.store.getAdminByUsername(username) : undefined;
  // The same scrypt work whether or not the account exists: no user enumeration by timing.
  const matches = await verifyPassword(password, admin?.passwordHash ?? (await dummyPasswordHash()));
  if (!admin || !matches) return showLogin(call, 401, 'Wrong username or password.', username, next);
  attempt.succeeded();
  const previous = parseCookies(call.req).get(SESSION_COOKIE);
  if (previous) await call.ctx.store.deleteSession(hashSessionId(previous));
  await call.ctx.store.purgeExpiredAuth(now);
  const id = await createSession(call.ctx, admin);
  redirect(call.res, safeNext(next) ?? '/console', [
    sessionCookie(call.ctx, id),
    clearLoginCsrfCookie(call.ctx),
  ]);
}

async function handleLogout(call: Call): Promise<void> {
  if (call.method !== 'POST') return methodNotAllowed(call, 'POST');
  const form = await readForm(call.req);
  const session = await loadSession(call.ctx, call.req);
  if (!session) {
    redirect(call.res, '/console/login', [clearSessionCookie(call.ctx)]);
    return;
  }
  if (!csrfValid(call.ctx, call.req, session, form.get('_csrf'))) return csrfFailedPage(call, session);
  await call.ctx.store.deleteSession(session.record.idHash);
  redirect(call.res, '/console/login', [clearSessionCookie(call.ctx)]);
}

// ---------------------------------------------------------------- device approval

type Lookup = { grant: DeviceGrantRecord } | { handled: true };

/**
 * Find the pending grant for a typed code, counting wrong codes against the session and the IP
 * (RFC 8628 §5.1). Once blocked, even a right code waits for the window to pass.
 */
async function lookupGrant(call: Call, session: ConsoleSession, typed: string): Promise<Lookup> {
  const user = pageUser(session);
  const now = call.ctx.now();
  const { userCode } = throttlesFor(call.ctx);
  const keys = [`ip:${call.ip}`, `session:${session.record.idHash}`];
  const attempt = userCode.begin(keys, now);
  if (!attempt.allowed) {
    tooManyPage(call, 'wrong codes', attempt.retryAfterSeconds, session);
    return { handled: true };
  }
  if (!normalizeUserCode(typed)) {
    // Something that cannot be a code is a typo, not a guess.
    attempt.succeeded();
    sendHtml(
      call.res,
      400,
      deviceCodePage(user, 'That is not a valid code: it has 8 letters, like WDJB-MJHT.'),
    );
    return { handled: true };
  }
  const grant = await findGrantForApproval(call.ctx, typed);
  if (!grant) {
    sendHtml(
      call.res,
      404,
      deviceCodePage(user, 'Code not found or expired. Check the code on the device, or start again there.'),
    );
    return { handled: true };
  }
  attempt.succeeded();
  return { grant };
}

async function handleDevice(call: Call): Promise<void> {
  if (call.method === 'GET' || call.method === 'HEAD') {
    const typed = call.url.searchParams.get('user_code') ?? '';
    const next = typed ? `/device?user_code=${encodeURIComponent(typed.slice(0, 20))}` : '/device';
    const session = await requirePageSession(call, next);
    if (!session) return;
    if (!typed.trim()) return sendHtml(call.res, 200, deviceCodePage(pageUser(session)));
    // The link only fills the code in; approval always takes the POST below.
    const found = await lookupGrant(call, session, typed);
    if ('grant' in found)
      sendHtml(call.res, 200, deviceConfirmPage(pageUser(session), found.grant, call.ctx.now()));
    return;
  }
  if (call.method !== 'POST') return methodNotAllowed(call, 'GET, POST');
  const session = await requirePageSession(call, '/device');
  if (!session) return;
  const form = await readForm(call.req);
  if (!csrfValid(call.ctx, call.req, session, form.get('_csrf'))) return csrfFailedPage(call, session);
  const found = await lookupGrant(call, session, form.get('user_code') ?? '');
  if ('grant' in found)
    sendHtml(call.res, 200, deviceConfirmPage(pageUser(session), found.grant, call.ctx.now()));
}

async function handleDeviceDecision(call: Call): Promise<void> {
  if (call.method !== 'POST') return methodNotAllowed(call, 'POST');
  const session = await requirePageSession(call, '/device');
  if (!session) return;
  const form = await readForm(call.req);
  if (!csrfValid(call.ctx, call.req, session, form.get('_csrf'))) return csrfFailedPage(call, session);
  const decision = form.get('decision');
  const user = pageUser(session);
  if (decision !== 'approve' && decision !== 'deny') {
    return sendHtml(call.res, 400, messagePage('Bad request', 'Choose Approve or Deny.', user));
  }
  const found = await lookupGrant(call, session, form.get('user_code') ?? '');
  if (!('grant' in found)) return;
  const { grant } = found;
  // Two quick clicks (or tabs) must not both decide: the first wins, the second is told so.
  if (deciding.has(grant.deviceCodeHash)) {
    return sendHtml(
      call.res,
      409,
      messagePage('Already decided', 'This code is being decided already.', user),
    );
  }
  deciding.add(grant.deviceCodeHash);
  try {
    await decide(call, session, grant, decision);
  } finally {
    deciding.delete(grant.deviceCodeHash);
  }
}

/** Device codes whose decision is in progress in this process. */
const deciding = new Set<string>();

async function decide(
  call: Call,
  session: ConsoleSession,
  grant: DeviceGrantRecord,
  decision: 'approve' | 'deny',
): Promise<void> {
  const user = pageUser(session);
  const device = grant.deviceName || grant.clientId;
  if (decision === 'deny') {
    await denyGrant(call.ctx, grant, session.admin.id);
    return sendHtml(
      call.res,
      200,
      messagePage(
        'Device denied',
        `The sign-in from ${device} was denied; it gets no key. If you did not start it, someone may be trying to phish you.`,
        user,
        '<p><a href="/device">Approve another device</a></p>',
      ),
    );
  }
  const { keyId } = await approveGrant(call.ctx, grant, session.admin.id);
  sendHtml(
    call.res,
    200,
    layout(
      'Device approved',
      `<p>${esc(device)} may continue now: it receives its credential directly, and this page never shows it.</p>
<p>Its key is <code>${esc(keyId)}</code>; rename or revoke it on the <a href="/console/keys">Keys</a> page.</p>`,
      user,
    ),
  );
}

// ---------------------------------------------------------------- keys pages

const NOTICES: Record<string, string> = {
  renamed: 'The key was renamed.',
  revoked: 'The key was revoked; requests signed with it are refused from now on.',
};

function keyFailurePage(call: Call, session: ConsoleSession, result: Extract<KeyOpResult, { ok: false }>) {
  sendHtml(
    call.res,
    result.status,
    messagePage(
      result.code === 'key_not_found' ? 'No such key' : 'Not done',
      result.message,
      pageUser(session),
      '<p><a href="/console/keys">Back to keys</a></p>',
    ),
  );
}

async function handleKeysPages(call: Call): Promise<void> {
  const session = await requirePageSession(call, '/console/keys');
  if (!session) return;
  const user = pageUser(session);
  if (call.path === '/console/keys') {
    if (call.method === 'GET' || call.method === 'HEAD') {
      const notice = NOTICES[call.url.searchParams.get('done') ?? ''];
      return sendHtml(call.res, 200, keysPage(user, await call.ctx.store.listKeys(), notice));
    }
    if (call.method !== 'POST') return methodNotAllowed(call, 'GET, POST');
    const form = await readForm(call.req);
    if (!csrfValid(call.ctx, call.req, session, form.get('_csrf'))) return csrfFailedPage(call, session);
    const result = await createKey(call.ctx, form.get('name') ?? '');
    if (!result.ok) return keyFailurePage(call, session, result);
    return sendHtml(call.res, 201, credentialPage(user, result.key, result.credential ?? '', false));
  }
  const match = /^\/console\/keys\/([^/]+)\/(rename|revoke|rotate)$/.exec(call.path);
  const id = match?.[1] ?? '';
  if (!match || !KEY_ID_PATTERN.test(id)) return notFoundPage(call, session);
  if (call.method !== 'POST') return methodNotAllowed(call, 'POST');
  const form = await readForm(call.req);
  if (!csrfValid(call.ctx, call.req, session, form.get('_csrf'))) return csrfFailedPage(call, session);
  const action = match[2];
  if (action === 'rotate') {
    const result = await rotateKey(call.ctx, id);
    if (!result.ok) return keyFailurePage(call, session, result);
    return sendHtml(call.res, 200, credentialPage(user, result.key, result.credential ?? '', true));
  }
  const result =
    action === 'rename'
      ? await renameKey(call.ctx, id, form.get('name') ?? '')
      : await revokeKey(call.ctx, id);
  if (!result.ok) return keyFailurePage(call, session, result);
  redirect(call.res, `/console/keys?done=${action === 'rename' ? 'renamed' : 'revoked'}`);
}

// ---------------------------------------------------------------- JSON API

function sendKeyResult(call: Call, result: KeyOpResult, status = 200): void {
  if (!result.ok) {
    sendJsonError(call.res, result.status, result.code, result.message);
    return;
  }
  const body: Record<string, unknown> = { key: keyJson(result.key) };
  if (result.credential) body.credential = result.credential;
  sendConsoleJson(call.res, status, body);
}

async function handleApi(call: Call): Promise<void> {
  const session = await loadSession(call.ctx, call.req);
  if (!session) {
    if (call.method !== 'GET' && call.method !== 'HEAD') call.req.resume();
    return sendJsonError(
      call.res,
      401,
      'unauthenticated',
      'sign in at /console/login and send the sphyr_session cookie',
    );
  }
  const reading = call.method === 'GET' || call.method === 'HEAD';
  if (!reading) {
    const header = call.req.headers['x-csrf-token'];
    if (!csrfValid(call.ctx, call.req, session, typeof header === 'string' ? header : undefined)) {
      call.req.resume();
      return sendJsonError(
        call.res,
        403,
        'csrf_failed',
        'send the X-CSRF-Token header from GET /v1/console/session, from this origin',
      );
    }
  }
  const { path } = call;
  const extension = API_EXTENSIONS.find((e) => e.matches(path));
  if (extension) return (await extension.load())({ ...call, session, user: pageUser(session) });
  if (path === '/v1/console/session') {
    if (!reading) return methodNotAllowed(call, 'GET');
    return sendConsoleJson(call.res, 200, {
      username: session.admin.username,
      csrfToken: session.record.csrfToken,
      expiresAt: new Date(session.record.expiresAt).toISOString(),
    });
  }
  if (path === '/v1/console/keys') {
    if (reading) {
      return sendConsoleJson(call.res, 200, { keys: (await call.ctx.store.listKeys()).map(keyJson) });
    }
    if (call.method !== 'POST') return methodNotAllowed(call, 'GET, POST');
    const body = await readJson(call);
    if (!body) return;
    return sendKeyResult(call, await createKey(call.ctx, body.name), 201);
  }
  const match = /^\/v1\/console\/keys\/([^/]+)(?:\/(revoke|rotate))?$/.exec(path);
  const id = match?.[1] ?? '';
  if (!match || !KEY_ID_PATTERN.test(id)) {
    return sendJsonError(call.res, 404, 'not_found', `no ${call.method} ${path} in the console API`);
  }
  const action = match[2];
  if (!action) {
    if (call.method !== 'PATCH') return methodNotAllowed(call, 'PATCH');
    const body = await readJson(call);
    if (!body) return;
    return sendKeyResult(call, await renameKey(call.ctx, id, body.name));
  }
  if (call.method !== 'POST') return methodNotAllowed(call, 'POST');
  call.req.resume();
  return sendKeyResult(
    call,
    action === 'revoke' ? await revokeKey(call.ctx, id) : await rotateKey(call.ctx, id),
  );
}

// ---------------------------------------------------------------- dispatch

async function route(call: Call): Promise<void> {
  const { path, method } = call;
  if (path.startsWith('/v1/console/')) return handleApi(call);
  if (path === '/console/assets/console.css') {
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(call, 'GET');
    return sendAsset(call.res, 'text/css; charset=utf-8', CONSOLE_CSS);
  }
  if (path === '/console/login') return handleLogin(call);
  if (path === '/console/logout') return handleLogout(call);
  if (path === '/device' || path === '/device/') return handleDevice(call);
  if (path === '/device/decision') return handleDeviceDecision(call);
  if (path === '/console/keys' || path.startsWith('/console/keys/')) return handleKeysPages(call);
  const page = PAGE_EXTENSIONS.find((e) => e.matches(path));
  if (page) {
    const session = await requirePageSession(call, `${call.url.pathname}${call.url.search}`);
    if (!session) return;
    return (await page.load())({ ...call, session, user: pageUser(session) });
  }
  if (method === 'POST') call.req.resume();
  return notFoundPage(call, await loadSession(call.ctx, call.req));
}

/** The console pages, /device, and /v1/console/* (DESIGN §3.8). */
export async function handleConsole(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const call: Call = {
    ctx,
    req,
    res,
    path,
    url: new URL(req.url ?? '/', 'http://sphyr.invalid'),
    method: req.method ?? 'GET',
    ip: clientIp(req, ctx.trustedProxies),
  };
  const api = path.startsWith('/v1/');
  try {
    await route(call);
  } catch (error) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof BodyTimeout) {
      if (api) return sendJsonError(res, 408, 'request_timeout', 'the request body did not arrive in time');
      return sendHtml(res, 408, messagePage('Too slow', 'The form took too long to arrive.'));
    }
    if (error instanceof BodyTooLarge) {
      if (api) return sendJsonError(res, 413, 'body_too_large', 'the request body is too large');
      return sendHtml(res, 413, messagePage('Too large', 'The form was too large.'));
    }
    if (error instanceof UnsupportedMedia) return unsupportedFormPage(res);
    ctx.warn(`console ${call.method} ${path} failed: ${(error as Error)?.stack ?? error}`);
    if (api) return sendJsonError(res, 500, 'internal_error', 'the console failed to handle this request');
    sendHtml(res, 500, messagePage('Something went wrong', 'The console failed to handle this request.'));
  }
}
