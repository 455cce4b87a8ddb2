import type { Cidr, Policy } from '../policy/index.js';
import type { NonceStore } from '../signing/index.js';
import type { EventSink } from './events.js';
import type { GatewayStore, RateLimiter } from './store/types.js';

/** Timeouts and size limits; every one can be set, the defaults suit an agent's API traffic. */
export interface GatewayLimits {
  maxRequestBodyBytes: number;
  /** Bodies over 1 MiB go to disk; at most this many at once, more get 503 `spool_full`. */
  maxSpooledBodies: number;
  /** From dialing until the target's response headers arrive. */
  upstreamHeadersTimeoutMs: number;
  /** No bytes either way for this long ends the exchange. */
  upstreamIdleTimeoutMs: number;
  /** How long a caller may take to send its headers; then the connection is destroyed. */
  clientHeadersTimeoutMs: number;
  /** A request body that sends nothing for this long ends its connection. */
  clientBodyIdleTimeoutMs: number;
  /** Open client connections at most; the excess is answered 503 `too_many_connections` and closed. */
  maxConnections: number;
  /** Open client connections at most from one peer address (trusted proxies exempt). */
  maxConnectionsPerAddress: number;
  /** On shutdown, how long in-flight requests may take to finish. */
  drainTimeoutMs: number;
  /** Registered agents live this long before `agent_expired`. */
  agentTtlMs: number;
  /** A tunnel with no bytes either way for this long is closed. */
  tunnelIdleTimeoutMs: number;
  /** A tunnel is closed this long after it opened, busy or not. */
  tunnelMaxLifetimeMs: number;
  /** Open tunnels at most per key; the excess is refused 429 `tunnel_limit`. */
  maxTunnelsPerKey: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  maxRequestBodyBytes: 64 * 1024 * 1024,
  maxSpooledBodies: 8,
  upstreamHeadersTimeoutMs: 60_000,
  upstreamIdleTimeoutMs: 120_000,
  clientHeadersTimeoutMs: 30_000,
  clientBodyIdleTimeoutMs: 30_000,
  maxConnections: 2048,
  maxConnectionsPerAddress: 256,
  drainTimeoutMs: 10_000,
  agentTtlMs: 24 * 60 * 60 * 1000,
  tunnelIdleTimeoutMs: 120_000,
  tunnelMaxLifetimeMs: 60 * 60 * 1000,
  maxTunnelsPerKey: 16,
};

/** Everything a request handler needs; injected so tests swap the clock, resolver or store. */
export interface GatewayContext {
  store: GatewayStore;
  policy: Policy;
  limiter: RateLimiter;
  nonces: NonceStore;
  limits: GatewayLimits;
  now: () => number;
  resolve(host: string): Promise<string[]>;
  /** True when ip:port is this gateway's own listener (the loop guard). */
  isSelf(ip: string, port: number): boolean;
  /**
   * True when `host` (a `Host` header, the signed `@authority`) names this gateway: its public URL or
   * its listen address (authority.ts). Signed requests for any other authority are refused.
   */
  isOwnAuthority(host: string | undefined): boolean;
  tmpDir: string;
  /** Operator messages (stderr); never receives secrets. */
  warn(message: string): void;
  /**
   * The URL people and clients reach this gateway at (issuer, verification_uri, the URL login
   * writes to config). Set after listen when not configured; https here makes session cookies Secure.
   */
  publicUrl: string;
  /** Proxies whose X-Forwarded-For is believed (`--trust-proxy`); empty: the socket peer is the client. */
  trustedProxies: readonly Cidr[];
  /** Where gateway events go (the webhook dispatcher); absent in tests that do not care. */
  events?: EventSink;
}
