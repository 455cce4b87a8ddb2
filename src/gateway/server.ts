import { lookup } from 'node:dns/promises';
import http, { type Server } from 'node:http';
import { type AddressInfo, isIP, type Socket } from 'node:net';
import path from 'node:path';
import { SphyrConfigError, SphyrRequestError } from '../errors.js';
import { DEFAULT_POLICY, type Policy, parseCidr, peerInRanges } from '../policy/index.js';
import { MemoryNonceStore, type NonceStore } from '../signing/index.js';
import { GatewayAuthorities } from './authority.js';
import { answerAndDestroy, boundBodyIdle, capConnections, clientErrorFor } from './connections.js';
import { DEFAULT_LIMITS, type GatewayContext, type GatewayLimits } from './context.js';
import { createRequestHandler } from './request-handler.js';
import { createSelfCheck } from './self-address.js';
import { privateDir } from './store/data-dir.js';
import { MemoryRateLimiter } from './store/memory-rate-limiter.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { GatewayStore, RateLimiter } from './store/types.js';
import { TunnelRegistry } from './tunnel/registry.js';
import { createUpstreamAgents } from './upstream.js';
import { WebhookDispatcher, type WebhookOptions } from './webhooks/dispatcher.js';

export const DEFAULT_PORT = 7470;
export const DEFAULT_HOST = '127.0.0.1';
const PURGE_EVERY_MS = 60 * 60 * 1000;

export interface GatewayOptions {
  host?: string;
  port?: number;
  dataDir: string;
  policy?: Policy;
  limits?: Partial<GatewayLimits>;
  now?: () => number;
  resolve?: (host: string) => Promise<string[]>;
  store?: GatewayStore;
  limiter?: RateLimiter;
  nonces?: NonceStore;
  warn?: (message: string) => void;
  /** PEM of an extra CA to trust for https targets (an internal CA); Node's roots stay trusted. */
  upstreamCa?: string;
  /** The URL people and clients reach the gateway at, e.g. behind a TLS proxy (default: its own http URL). */
  publicUrl?: string;
  /** The first console admin's password (default: SPHYR_ADMIN_PASSWORD, else generated and reported once). */
  adminPassword?: string;
  /** CIDRs of reverse proxies whose X-Forwarded-For names the client (default: none trusted). */
  trustProxy?: readonly string[];
  /** Webhook delivery tuning (retry schedule, timeouts, poll interval; DESIGN §3.9). */
  webhooks?: WebhookOptions;
}

export interface RunningGateway {
  url: string;
  host: string;
  port: number;
  store: GatewayStore;
  /** The authorities signed requests are accepted for (authority.ts), in words for the operator. */
  authorities: string[];
  /** Stop accepting, let in-flight requests finish (up to the drain timeout), flush and close the log. */
  close(): Promise<void>;
  /** Run the retention purge now; returns the number of records removed. */
  purge(): Promise<number>;
  /** Set only on the first start, when the console admin was just created with a generated password. */
  initialAdmin?: { username: string; password: string };
}

async function systemResolve(host: string): Promise<string[]> {
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => a.address);
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(
          new SphyrConfigError(
            'port_in_use',
            `port ${port} on ${host} is already in use; stop the other process or pick another with --port`,
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(
          new SphyrConfigError(
            'port_denied',
            `not allowed to listen on ${host}:${port}; use a port above 1023`,
          ),
        );
      } else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
        reject(
          new SphyrConfigError(
            'host_invalid',
            `cannot listen on ${host}: no such local address; check --host`,
          ),
        );
      } else {
        reject(error);
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Start the embedded gateway: SQLite log in `dataDir`, in-memory limiters and nonce store. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const host = options.host ?? DEFAULT_HOST;
  const policy = options.policy ?? DEFAULT_POLICY;
  const now = options.now ?? Date.now;
  const warn = options.warn ?? ((m: string) => process.stderr.write(`sphyr gateway: ${m}\n`));
  const store = options.store ?? (await SqliteStore.open(options.dataDir, { warn, adoptLog: true }));
  const tmpDir = path.join(options.dataDir, 'tmp');
  try {
    await privateDir(tmpDir);
  } catch (error) {
    await store.close();
    throw new SphyrConfigError(
      'data_dir_unwritable',
      `cannot create ${tmpDir}; check --data-dir permissions`,
      {
        cause: error,
      },
    );
  }
  const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...options.limits };
  let port = options.port ?? DEFAULT_PORT;
  // Known once the listener is bound (the port may be 0 until then); no request arrives before that.
  let listening: AddressInfo | undefined;
  let authorities: GatewayAuthorities | undefined;
  const ctx: GatewayContext = {
    store,
    policy,
    limiter: options.limiter ?? new MemoryRateLimiter(now),
    nonces: options.nonces ?? new MemoryNonceStore({ now }),
    limits,
    now,
    resolve: options.resolve ?? systemResolve,
    isSelf: createSelfCheck(() => listening ?? { address: '::', port: -1 }),
    isOwnAuthority: (value) => authorities?.accepts(value) ?? false,
    tmpDir,
    warn,
    publicUrl: options.publicUrl ?? '',
    trustedProxies: (options.trustProxy ?? []).map((range) => parseCidr(range)),
  };
  const agents = createUpstreamAgents(options.upstreamCa);
  const webhooks = new WebhookDispatcher(ctx, { ca: options.upstreamCa, ...options.webhooks });
  ctx.events = webhooks;
  const tunnels = new TunnelRegistry();
  const handler = createRequestHandler(ctx, agents, tunnels);
  const inFlight = new Set<Promise<void>>();
  let refused = new WeakSet<Socket>();
  const server = http.createServer(
    {
      headersTimeout: limits.clientHeadersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: 5_000,
      // How often Node looks for connections past their headers timeout.
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, limits.clientHeadersTimeoutMs / 4)),
    },
    (req, res) => {
      if (refused.has(req.socket)) return void res.destroy();
      const done = handler(req, res).catch((error) => warn(`unhandled: ${(error as Error).stack ?? error}`));
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
    },
  );
  // HTTP/1.1 upgrades: only POST /v1/tunnel (Upgrade: sphyr-tunnel); the handler refuses the rest as
  // JSON through a response bound to the raw socket, which is closed once that answer is out.
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    if (refused.has(socket)) return void socket.destroy();
    // Only the tunnel is an upgrade; anything else would run a normal handler on a detached socket.
    if ((req.url ?? '').split('?')[0] !== '/v1/tunnel') {
      return answerAndDestroy(
        socket,
        new SphyrRequestError('not_found', 'only /v1/tunnel accepts an upgrade'),
        now(),
      );
    }
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.once('finish', () => socket.end());
    const done = handler(req, res, { socket, head }).catch((error) =>
      warn(`unhandled: ${(error as Error).stack ?? error}`),
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  });
  // Malformed or too-slow requests get a JSON answer and a destroyed socket, never a crash or a held fd.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    answerAndDestroy(socket, clientErrorFor(error), now());
  });
  boundBodyIdle(server, limits.clientBodyIdleTimeoutMs);
  refused = capConnections(server, {
    maxConnections: limits.maxConnections,
    maxConnectionsPerAddress: limits.maxConnectionsPerAddress,
    exempt: (ip) => peerInRanges(ip, ctx.trustedProxies),
    now,
  });
  let address: AddressInfo;
  try {
    address = await listen(server, host, port);
  } catch (error) {
    await store.close();
    throw error;
  }
  port = address.port;
  listening = address;
  authorities = new GatewayAuthorities({
    address: address.address,
    port,
    ...(isIP(host) === 0 ? { hostOption: host } : {}),
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
  });

  const purge = async () => {
    const t = now();
    await store.purgeExpiredAuth(t);
    return store.purgeBefore(t - policy.retentionDays * 24 * 60 * 60 * 1000, t);
  };
  await purge();
  const purgeTimer = setInterval(() => {
    purge().catch((error) => warn(`retention purge failed: ${error}`));
  }, PURGE_EVERY_MS);
  purgeTimer.unref();

  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${port}`;
  ctx.publicUrl = (options.publicUrl ?? url).replace(/\/+$/, '');
  const { ensureAdmin } = await import('./console/admin.js');
  const admin = await ensureAdmin(store, { password: options.adminPassword, now: now() });
  webhooks.start();
  let closing: Promise<void> | undefined;
  return {
    ...(admin.generatedPassword
      ? { initialAdmin: { username: admin.username, password: admin.generatedPassword } }
      : {}),
    url,
    host: address.address,
    port,
    store,
    authorities: authorities.describe(),
    purge,
    close() {
      closing ??= (async () => {
        clearInterval(purgeTimer);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const drained = Promise.allSettled([...inFlight]);
        const timeout = new Promise((resolve) => setTimeout(resolve, limits.drainTimeoutMs).unref());
        await Promise.race([drained, timeout]);
        server.closeAllConnections();
        await tunnels.closeAll();
        await stopped;
        await Promise.allSettled([...inFlight]);
        await webhooks.stop();
        agents.destroy();
        await store.close();
      })();
      return closing;
    },
  };
}
