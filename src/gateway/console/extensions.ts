/**
 * @module Console sections that live in their own files: the router signs the person in (pages
 * redirect to sign-in; the API answers 401 and checks `X-CSRF-Token` on writes) and hands over.
 * Page handlers check the `_csrf` form field themselves on POST (`csrfValid` in session.ts).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from '../context.js';
import type { PageUser } from './html.js';
import type { ConsoleSession } from './session.js';

export interface ConsoleRequest {
  ctx: GatewayContext;
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  url: URL;
  method: string;
  ip: string;
  session: ConsoleSession;
  user: PageUser;
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
