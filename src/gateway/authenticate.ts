import type { IncomingMessage } from 'node:http';
import { SphyrAuthError, SphyrRateLimitError, SphyrRequestError } from '../errors.js';
import { effectivePolicyForKey } from '../policy/index.js';
import { checkBodyDigest, type SignedCallKind, verifySignedRequest } from '../signing/index.js';
import type { BodySpool } from './body-spool.js';
import type { GatewayContext } from './context.js';
import type { AgentRecord, KeyRecord } from './store/types.js';

const WINDOW_MS = 1000;

export interface Caller {
  key: KeyRecord;
  agent: AgentRecord | undefined;
  /** The `Signature` header value, kept in the log record. */
  signature: string;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  if (Array.isArray(value)) {
    throw new SphyrRequestError('duplicate_header', `the ${name} header must appear once`);
  }
  return value;
}

/** 500/s per source IP before any signature work (DESIGN §3.6). */
export async function checkPreAuthLimit(ctx: GatewayContext, ip: string): Promise<void> {
  const result = await ctx.limiter.hit(`pre:${ip}`, ctx.policy.rateLimits.preAuthPerIp, WINDOW_MS);
  if (!result.allowed) {
    throw new SphyrRateLimitError(
      'rate_limited_ip',
      'too many requests from this address',
      result.retryAfterSeconds,
    );
  }
}

/**
 * Authenticate a signed request: the `Host` must be one of this gateway's authorities; then the
 * signature (parse → window → key → HMAC over the signed `Content-Digest` → nonce), then the agent,
 * then the per-agent, per-key and per-IP limits. Only then is the body read (`readBody`) and checked
 * against the signed digest, so a request whose signature does not hold, a replay, or one over its
 * limits is refused without a byte of its body read or spooled.
 */
export async function authenticate(
  ctx: GatewayContext,
  req: IncomingMessage,
  kind: SignedCallKind,
  readBody: () => Promise<BodySpool>,
  ip: string,
  noteKeyId: (keyId: string) => void,
  /** Told who the caller is as soon as that is authenticated, so a refusal after it keeps it. */
  noteCaller?: (caller: Caller) => void,
): Promise<Caller> {
  // The raw request target, not a URL re-parse: what the client signed is what arrived.
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '?' : target.slice(q);
  const authority = header(req, 'host');
  if (!authority) throw new SphyrRequestError('missing_host', 'the request has no Host header');
  if (!ctx.isOwnAuthority(authority)) {
    throw new SphyrAuthError(
      'wrong_authority',
      'the request is signed for another host than this gateway; use the gateway URL its operator gave (--public-url)',
    );
  }
  let key: KeyRecord | undefined;
  const verified = await verifySignedRequest({
    kind,
    facts: {
      method: req.method ?? 'GET',
      authority: authority.toLowerCase(),
      path,
      query,
      targetUri: header(req, 'sphyr-target-uri'),
      target: header(req, 'sphyr-target'),
      agentId: header(req, 'sphyr-agent-id'),
      contentDigest: header(req, 'content-digest'),
    },
    signatureInput: header(req, 'signature-input'),
    signature: header(req, 'signature'),
    nowSeconds: Math.floor(ctx.now() / 1000),
    lookupKey: async (keyId) => {
      noteKeyId(keyId);
      const found = await ctx.store.getKey(keyId);
      if (!found) throw new SphyrAuthError('unknown_key', 'no key with this id exists on this gateway');
      if (found.record.revokedAt !== null)
        throw new SphyrAuthError('key_revoked', 'this key has been revoked');
      key = found.record;
      return found.secret;
    },
    nonceStore: ctx.nonces,
  });
  if (!key) throw new SphyrAuthError('unknown_key', 'no key with this id exists on this gateway');

  let agent: AgentRecord | undefined;
  if (kind !== 'register') {
    const agentId = header(req, 'sphyr-agent-id') ?? '';
    agent = await ctx.store.getAgent(agentId);
    if (!agent || agent.keyId !== key.id || agent.expiresAt <= ctx.now()) {
      throw new SphyrAuthError('agent_expired', 'this agent id is unknown or expired; register again');
    }
  }

  noteCaller?.({ key, agent, signature: verified.signature });
  const limits = effectivePolicyForKey(ctx.policy, key.id).rateLimits;
  const checks: Array<[string, number, string]> = [];
  if (agent) checks.push([`agent:${agent.id}`, limits.perAgent, 'rate_limited_agent']);
  checks.push(
    [`key:${key.id}`, limits.perKey, 'rate_limited_key'],
    [`ip:${ip}`, limits.perIp, 'rate_limited_ip'],
  );
  for (const [bucket, limit, code] of checks) {
    const result = await ctx.limiter.hit(bucket, limit, WINDOW_MS);
    if (!result.allowed) {
      throw new SphyrRateLimitError(
        code,
        `over the limit of ${limit} requests per second`,
        result.retryAfterSeconds,
      );
    }
  }

  checkBodyDigest(verified, (await readBody()).sha256);
  return { key, agent, signature: verified.signature };
}
