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
}

/** Direct, instrument or refuse, for one request or redirect hop. */
export function routeFor(state: SdkState, url: URL): Route {
  const gatewayUrl = state.settings.gatewayUrl ?? 'http://gateway.invalid';
  // The gateway's own origin is always direct, whatever instrumentHosts says: relaying it would loop.
  if (url.origin === new URL(gatewayUrl).origin) return 'direct';
  const route = classifyForInstrumentation(url, {
    gatewayUrl,
    directHosts: state.settings.directHosts,
    instrumentHosts: state.settings.instrumentHosts,
  });
  if (route !== 'direct') return route;
  const until = state.tainted.get(url.href);
  if (until !== undefined && until > Date.now()) return 'instrument';
  return route;
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
