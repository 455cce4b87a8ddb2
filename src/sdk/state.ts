import type { GatewayClient } from '../client/gateway-client.js';
import { classifyForInstrumentation, type Route } from '../policy/index.js';
import type { SdkSettings } from './options.js';

/** How long a redirect target chosen by a remote server stays "tainted" (never sent direct). */
const TAINT_MS = 60_000;

/** Process-wide instrumentation state, shared by every layer (dispatcher, fetch guard). */
export interface SdkState {
  active: boolean;
  settings: SdkSettings;
  client: GatewayClient | undefined;
  /** URLs a remote server redirected to: they go through the gateway even if they look local. */
  tainted: Map<string, number>;
  warnedFailOpen: boolean;
  /** Routes by `protocol//host`: the decision depends on nothing else, and fetch asks per request. */
  routes: Map<string, Route>;
}

/** The route for a `protocol//host[:port]` key (a fetch dispatch's `origin`), cached. */
export function routeForOrigin(state: SdkState, origin: string): Route {
  let route = state.routes.get(origin);
  if (route === undefined) {
    route = classifyOrigin(state, origin);
    if (state.routes.size >= 1024) state.routes.clear();
    state.routes.set(origin, route);
  }
  return route;
}

function classifyOrigin(state: SdkState, origin: string): Route {
  const gatewayUrl = state.settings.gatewayUrl ?? 'http://gateway.invalid';
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return 'refuse';
  }
  // The gateway's own origin is always direct, whatever instrumentHosts says: relaying it would loop.
  if (url.origin === new URL(gatewayUrl).origin) return 'direct';
  return classifyForInstrumentation(url, {
    gatewayUrl,
    directHosts: state.settings.directHosts,
    instrumentHosts: state.settings.instrumentHosts,
  });
}

/** Direct, instrument or refuse, for one request or redirect hop. */
export function routeFor(state: SdkState, url: URL): Route {
  const route = routeForOrigin(state, `${url.protocol}//${url.host}`);
  return route === 'direct' && isTainted(state, url.href) ? 'instrument' : route;
}

/** Was this URL a hop a remote server chose (recently)? */
export function isTainted(state: SdkState, href: string): boolean {
  if (state.tainted.size === 0) return false;
  const until = state.tainted.get(href);
  return until !== undefined && until > Date.now();
}

/** Remember a hop a remote server chose, so it is screened by the gateway whatever it looks like. */
export function taint(state: SdkState, location: string, base: URL): void {
  let hop: URL;
  try {
    hop = new URL(location, base);
  } catch {
    return;
  }
  hop.hash = '';
  const now = Date.now();
  if (state.tainted.size > 1000) {
    for (const [href, until] of state.tainted) if (until <= now) state.tainted.delete(href);
  }
  state.tainted.set(hop.href, now + TAINT_MS);
}

/** Say once, loudly, that requests are bypassing the gateway (only with `failClosed: false`). */
export function warnFailOpen(state: SdkState, why: unknown): void {
  if (state.warnedFailOpen) return;
  state.warnedFailOpen = true;
  state.settings.warn(
    `requests are going DIRECT, unscreened and unlogged, because failClosed is false: ${(why as Error)?.message ?? why}`,
  );
}
