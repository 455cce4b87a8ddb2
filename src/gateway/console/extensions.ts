/**
 * @module Console sections that live in their own files: the router signs the person in (pages
 * redirect to sign-in; the API answers 401 and checks `X-CSRF-Token` on writes) and hands over.
 * Page handlers check the `_csrf` form field themselves on POST (`csrfValid` in session.ts).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from '../context.js';
import { messagePage, type PageUser } from './html.js';
import { mediaType, readBody, sendHtml } from './http.js';
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

/** The form of a page POST, or undefined after answering (415 wrong media type, 403 failed CSRF check). */
export async function readCheckedForm(r: ConsoleRequest): Promise<URLSearchParams | undefined> {
  if (mediaType(r.req) !== 'application/x-www-form-urlencoded') {
    r.req.resume();
    sendHtml(
      r.res,
      415,
      messagePage('Unsupported form', 'Send the form as a normal HTML form post.', r.user),
    );
    return undefined;
  }
  const form = new URLSearchParams((await readBody(r.req)).toString('utf8'));
  if (!csrfValid(r.ctx, r.req, r.session, form.get('_csrf'))) {
    sendHtml(
      r.res,
      403,
      messagePage(
        'Request refused',
        'This form was out of date or came from another site (csrf_failed). Go back, reload the page and try again.',
        r.user,
      ),
    );
    return undefined;
  }
  return form;
}

export type ConsoleHandler = (request: ConsoleRequest) => Promise<void>;

interface Extension {
  matches(path: string): boolean;
  load(): Promise<ConsoleHandler>;
}

const under = (prefix: string) => (path: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Signed-in pages: the request log, agents, policy, webhooks. */
export const PAGE_EXTENSIONS: readonly Extension[] = [
  {
    matches: (p) => under('/console/log')(p) || under('/console/agents')(p) || under('/console/policy')(p),
    load: async () => (await import('./log-pages.js')).handleLogPages,
  },
  {
    matches: under('/console/webhooks'),
    load: async () => (await import('./webhook-pages.js')).handleWebhookPages,
  },
];

/** The JSON API beside them (session cookie + X-CSRF-Token). */
export const API_EXTENSIONS: readonly Extension[] = [
  { matches: under('/v1/console/log'), load: async () => (await import('./log-api.js')).handleLogApi },
  {
    matches: under('/v1/console/webhooks'),
    load: async () => (await import('./webhook-api.js')).handleWebhookApi,
  },
];
