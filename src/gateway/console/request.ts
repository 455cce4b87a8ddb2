/**
 * @module One console request and the answers every section shares (wrong method, failed CSRF
 * check, form and JSON bodies). The router and each section import these from here, so no section
 * imports the module that loads it.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from '../context.js';
import { messagePage, type PageUser } from './html.js';
import { mediaType, readBody, sendHtml, sendJsonError } from './http.js';
import { type ConsoleSession, csrfValid } from './session.js';

/** One console request as the router sees it, before sign-in is known. */
export interface ConsoleCall {
  ctx: GatewayContext;
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  url: URL;
  method: string;
  ip: string;
}

/** …and once the person is signed in. */
export interface ConsoleRequest extends ConsoleCall {
  session: ConsoleSession;
  user: PageUser;
}

export type ConsoleHandler = (request: ConsoleRequest) => Promise<void>;

export function isReading(call: Pick<ConsoleCall, 'method'>): boolean {
  return call.method === 'GET' || call.method === 'HEAD';
}

/** 405 with `Allow`: JSON under /v1/, a page elsewhere. A body the caller sent is discarded. */
export function methodNotAllowed(call: ConsoleCall, allow: string, user?: PageUser): void {
  if (!isReading(call)) call.req.resume();
  if (call.path.startsWith('/v1/')) {
    sendJsonError(call.res, 405, 'method_not_allowed', `use ${allow} on ${call.path}`, { allow });
  } else {
    sendHtml(call.res, 405, messagePage('Method not allowed', `Use ${allow} on this page.`, user), { allow });
  }
}

export function csrfFailedPage(res: ServerResponse, user?: PageUser): void {
  sendHtml(
    res,
    403,
    messagePage(
      'Request refused',
      'This form was out of date or came from another site (csrf_failed). Go back, reload the page and try again.',
      user,
    ),
  );
}

export function unsupportedFormPage(res: ServerResponse, user?: PageUser): void {
  sendHtml(res, 415, messagePage('Unsupported form', 'Send the form as a normal HTML form post.', user));
}

/** The form of a page POST, or undefined after answering (415 wrong media type, 403 failed CSRF check). */
export async function readCheckedForm(r: ConsoleRequest): Promise<URLSearchParams | undefined> {
  if (mediaType(r.req) !== 'application/x-www-form-urlencoded') {
    r.req.resume();
    unsupportedFormPage(r.res, r.user);
    return undefined;
  }
  const form = new URLSearchParams((await readBody(r.req)).toString('utf8'));
  if (!csrfValid(r.ctx, r.req, r.session, form.get('_csrf'))) {
    csrfFailedPage(r.res, r.user);
    return undefined;
  }
  return form;
}

/** A JSON object body for the console API, or undefined after answering 415 or 400. */
export async function readJson(call: ConsoleCall): Promise<Record<string, unknown> | undefined> {
  if (mediaType(call.req) !== 'application/json') {
    call.req.resume();
    sendJsonError(call.res, 415, 'unsupported_media_type', 'send the body as application/json');
    return undefined;
  }
  const text = (await readBody(call.req)).toString('utf8');
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Fall through to the error below.
  }
  sendJsonError(call.res, 400, 'invalid_json', 'the body must be a JSON object');
  return undefined;
}
