/**
 * @module Console sections that live in their own files, loaded on first use: the router signs the
 * person in (pages redirect to sign-in; the API answers 401 and checks `X-CSRF-Token` on writes) and
 * hands over. Page handlers check the `_csrf` form field themselves on POST (`readCheckedForm`).
 * Sections import what they share from request.ts, never from here.
 */

import type { ConsoleHandler } from './request.js';

interface Extension {
  matches(path: string): boolean;
  load(): Promise<ConsoleHandler>;
}

const under = (prefix: string) => (path: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Signed-in pages: the overview, the request log, agents, policy, webhooks. */
export const PAGE_EXTENSIONS: readonly Extension[] = [
  {
    matches: (p) => p === '/console' || p === '/console/',
    load: async () => (await import('./dashboard.js')).handleDashboard,
  },
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
