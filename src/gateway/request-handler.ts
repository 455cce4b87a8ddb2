import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { isSphyrError, SphyrNetworkError, SphyrRequestError } from '../errors.js';
import { ENTROPY_BODY_PREFIX_BYTES } from '../policy/index.js';
import type { SignedCallKind } from '../signing/index.js';
import { authenticate, type Caller, checkPreAuthLimit } from './authenticate.js';
import { BodySpool, MEMORY_BODY_BYTES, SpoolSlots } from './body-spool.js';
import { clientIp } from './client-ip.js';
import type { GatewayContext } from './context.js';
import { newEvent } from './events.js';
import { handleRegister } from './handlers/agents.js';
import { handleCheck } from './handlers/check.js';
import { handleRecentEvents, handleToolEvent } from './handlers/events.js';
import { HandledError, handleRelay } from './handlers/relay.js';
import { handleRevokeSelf, handleWhoami } from './handlers/self.js';
import { noteTarget } from './handlers/target.js';
import { handleTunnel } from './handlers/tunnel.js';
import { newRequestId } from './ids.js';
import { type LogDraft, newDraft } from './log-draft.js';
import { refusalFor, sendJson, sendRefusal } from './refusal.js';
import type { LogKind } from './store/types.js';
import type { TunnelRegistry } from './tunnel/registry.js';
import type { UpstreamAgents } from './upstream.js';
import { handleWeb, isWebPath } from './web/router.js';

interface Route {
  signed: SignedCallKind;
  /** The record kind. Registration and reads are not traffic: only their refusals are logged. */
  kind: LogKind;
}

function routeFor(method: string, path: string): Route | 'health' | undefined {
  if (path === '/healthz') return method === 'GET' || method === 'HEAD' ? 'health' : undefined;
  if (path === '/v1/relay') return { signed: 'relay', kind: 'relay' };
  if (path === '/v1/tunnel' && method === 'POST') return { signed: 'tunnel', kind: 'tunnel' };
  if (path === '/v1/check' && method === 'POST') return { signed: 'agent', kind: 'check' };
  if (path === '/v1/agents' && method === 'POST') return { signed: 'register', kind: 'refusal' };
  if (path === '/v1/events' && method === 'POST') return { signed: 'agent', kind: 'tool' };
  if (path === '/v1/events' && method === 'GET') return { signed: 'agent', kind: 'refusal' };
  if (path === '/v1/whoami' && method === 'GET') return { signed: 'register', kind: 'refusal' };
  if (path === '/v1/keys/self/revoke' && method === 'POST') return { signed: 'register', kind: 'refusal' };
  return undefined;
}

/**
 * Once the signature holds, the record names the caller (and a relay's signed target), so a refusal
 * after that (a rate limit, say) keeps them. Nothing unauthenticated is written as fact.
 */
function noteCaller(
  ctx: GatewayContext,
  req: IncomingMessage,
  route: Route,
  draft: LogDraft,
  caller: Caller,
) {
  draft.agentId = caller.agent?.id ?? null;
  draft.signature = caller.signature;
  const target = req.headers['sphyr-target-uri'];
  if (route.signed === 'relay' && typeof target === 'string' && URL.canParse(target)) {
    noteTarget(new URL(target), draft, ctx);
  }
}

/** `Content-Length` as a number, when the request declares one (Node has already validated it). */
function declaredLength(req: IncomingMessage): number | undefined {
  const value = req.headers['content-length'];
  return value === undefined ? undefined : Number(value);
}

/**
 * After an early refusal, discard (never store) what the caller is still sending, so it reads the
 * answer instead of a reset (closing at once can reach the client before the answer does, and a
 * legitimate SDK must see `clock_skew` or a 429 to act on it). At most `limit` bytes, but never
 * less than 1 MiB so that even with a tiny body limit the answer has time to arrive; past that the
 * connection is closed.
 */
/** What a console or OAuth request may still send after its answer before the connection is closed. */
const WEB_DISCARD_BYTES = 64 * 1024;

function discardRest(req: IncomingMessage, limit: number, budget = Math.max(limit, MEMORY_BODY_BYTES)): void {
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > budget) req.socket.destroy();
  });
  req.resume();
}

/** A tunnel is asked for only as `Upgrade: sphyr-tunnel`, without a body. */
function checkTunnelRequest(req: IncomingMessage, upgrade: Upgrade | undefined): void {
  if (!upgrade || req.headers.upgrade?.toLowerCase() !== 'sphyr-tunnel') {
    throw new SphyrRequestError(
      'tunnel_upgrade_required',
      'POST /v1/tunnel needs Connection: Upgrade and Upgrade: sphyr-tunnel',
    );
  }
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) {
    throw new SphyrRequestError('tunnel_body_not_allowed', 'a tunnel request has no body');
  }
}

/** The gateway's request pipeline (DESIGN §1): limit → verify → limits → screen → policy → relay → log. */
/** An HTTP/1.1 upgrade (the server's 'upgrade' event): the raw socket and what followed the headers. */
export interface Upgrade {
  socket: Socket;
  head: Buffer;
}

export function createRequestHandler(ctx: GatewayContext, agents: UpstreamAgents, tunnels: TunnelRegistry) {
  const spoolSlots = new SpoolSlots(ctx.limits.maxSpooledBodies);
  // A flood of 429s is one piece of news a minute per key (or address), not one webhook delivery each.
  const lastRateLimitEvent = new Map<string, number>();
  const rateLimitNews = (draft: LogDraft): boolean => {
    const who = draft.keyId ?? draft.clientIp ?? 'unknown';
    const last = lastRateLimitEvent.get(who);
    if (last !== undefined && draft.ts - last < 60_000) return false;
    if (lastRateLimitEvent.size > 10_000) lastRateLimitEvent.clear();
    lastRateLimitEvent.set(who, draft.ts);
    return true;
  };
  return async function handleRequest(
    req: IncomingMessage,
    res: ServerResponse,
    upgrade?: Upgrade,
  ): Promise<void> {
    const started = performance.now();
    const now = ctx.now();
    const requestId = newRequestId(now);
    const ip = clientIp(req, ctx.trustedProxies);
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (isWebPath(path, method)) {
      await handleWeb(ctx, req, res, path);
      // Console and OAuth bodies are small and read before any answer: whatever is left unread is
      // discarded only up to a small budget, never read in full (an unauthenticated 300 MiB post).
      if (!req.complete) discardRest(req, WEB_DISCARD_BYTES, WEB_DISCARD_BYTES);
      return;
    }
    const route = routeFor(method, path);
    if (route === 'health') {
      sendJson(res, 200, { status: 'ok' }, requestId);
      return;
    }
    const draft: LogDraft = newDraft(requestId, now, route?.kind ?? 'refusal', ip, method);
    let committed = false;
    const commit = async () => {
      if (committed) return;
      committed = true;
      draft.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
      await ctx.store.append(draft);
      if (
        ctx.events &&
        (draft.outcome === 'blocked' || (draft.outcome === 'rate_limited' && rateLimitNews(draft)))
      ) {
        ctx.events.emit(
          newEvent(draft.outcome === 'blocked' ? 'request.blocked' : 'request.rate_limited', draft.ts, {
            requestId: draft.id,
            reason: draft.reason,
            method: draft.method,
            host: draft.host,
            keyId: draft.keyId,
            agentId: draft.agentId,
          }),
        );
      }
    };
    // Called by authenticate only once the signature, nonce and limits hold (never for a refusal).
    let body: BodySpool | undefined;
    const readBody = async () => {
      // A tunnel's request has no body (checked below); its socket carries the tunnel's bytes.
      body ??= await BodySpool.read(route?.signed === 'tunnel' ? Readable.from([]) : req, {
        maxBytes: ctx.limits.maxRequestBodyBytes,
        tmpDir: ctx.tmpDir,
        prefixBytes: ENTROPY_BODY_PREFIX_BYTES,
        slots: spoolSlots,
        declaredBytes: declaredLength(req),
      });
      return body;
    };
    try {
      if (!route) {
        throw new SphyrRequestError(
          'not_found',
          `no ${method} ${path} on this gateway (see /v1/relay, /v1/check)`,
        );
      }
      if (route.signed === 'tunnel') checkTunnelRequest(req, upgrade);
      await checkPreAuthLimit(ctx, ip);
      const caller: Caller = await authenticate(
        ctx,
        req,
        route.signed,
        readBody,
        ip,
        (keyId) => {
          draft.keyId = keyId.slice(0, 100);
        },
        (authenticated) => noteCaller(ctx, req, route, draft, authenticated),
      );
      const spool = await readBody();
      if (route.signed === 'tunnel' && upgrade) {
        const target = req.headers['sphyr-target'];
        await handleTunnel(
          ctx,
          tunnels,
          upgrade.socket,
          upgrade.head,
          typeof target === 'string' ? target : undefined,
          caller,
          draft,
          requestId,
          commit,
        );
      } else if (route.signed === 'relay') {
        await handleRelay(ctx, agents, req, res, caller, spool, draft, requestId, commit);
      } else if (path === '/v1/check') {
        await handleCheck(ctx, res, caller, spool, draft, requestId, commit);
      } else if (path === '/v1/agents') {
        await handleRegister(ctx, res, caller, spool, requestId);
      } else if (path === '/v1/whoami') {
        await handleWhoami(res, caller, requestId);
      } else if (path === '/v1/keys/self/revoke') {
        await handleRevokeSelf(ctx, res, caller, requestId);
      } else if (method === 'POST') {
        await handleToolEvent(res, spool, draft, requestId, commit);
      } else {
        await handleRecentEvents(ctx, req, res, caller, requestId);
      }
    } catch (error) {
      if (error instanceof HandledError) return;
      if (!req.complete && !upgrade) discardRest(req, ctx.limits.maxRequestBodyBytes);
      const refusal = refusalFor(
        // A caller that went away (its own timeout or abort) is not a gateway failure.
        !isSphyrError(error) && req.socket.destroyed
          ? new SphyrNetworkError('client_closed', 'the caller closed the connection')
          : error,
      );
      if (refusal.code === 'internal_error')
        ctx.warn(`request ${requestId} failed: ${(error as Error)?.stack ?? error}`);
      if (route && !res.headersSent) {
        draft.outcome = refusal.outcome;
        draft.reason = refusal.code;
        draft.status = refusal.status;
        if (draft.kind === 'tool') draft.kind = 'refusal';
        await commit().catch((e) => ctx.warn(`request ${requestId}: could not write its log record: ${e}`));
      }
      if (res.headersSent) {
        res.destroy();
      } else {
        sendRefusal(res, refusal, requestId, ctx.now());
      }
    } finally {
      await (body as BodySpool | undefined)?.dispose();
    }
  };
}
