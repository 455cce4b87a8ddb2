import { SphyrPolicyError, SphyrRequestError } from '../../errors.js';
import { evaluatePolicy, requestEntropy } from '../../policy/index.js';
import type { GatewayContext } from '../context.js';
import { type LogDraft, redactQuery } from '../log-draft.js';
import { vettedAddresses } from '../screening.js';

export interface VettedTarget {
  url: URL;
  addresses: string[];
  /** Set in report mode when enforce would have denied. */
  reportReason?: string;
}

/** Parse the signed target; it must already be WHATWG-canonical so what is signed is what is dialed. */
export function parseTarget(text: string | undefined, draft: LogDraft, ctx: GatewayContext): URL {
  if (!text) throw new SphyrRequestError('missing_target', 'the Sphyr-Target-Uri header is required');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SphyrPolicyError('invalid_url', 'the target is not a valid URL');
  }
  noteTarget(url, draft, ctx);
  if (url.hash || url.href !== text) {
    throw new SphyrRequestError(
      'target_not_canonical',
      'the target must be sent in WHATWG-canonical form without a fragment',
    );
  }
  return url;
}

/** What the record keeps of a target: its host, its keyed hash, and the URL if the policy says so. */
export function noteTarget(url: URL, draft: LogDraft, ctx: GatewayContext): void {
  draft.host = url.host;
  draft.urlHash = ctx.store.hashUrl(url.href);
  if (ctx.policy.logFullUrl) draft.url = redactQuery(url);
}

/**
 * SSRF screen (resolve once, every answer public), then the policy. A request that cannot be
 * screened is refused, never passed through.
 */
export async function vetTarget(
  ctx: GatewayContext,
  draft: LogDraft,
  keyId: string,
  method: string,
  url: URL,
  bodyPrefix?: Uint8Array,
): Promise<VettedTarget> {
  draft.entropy = requestEntropy(url, bodyPrefix);
  const addresses = await vettedAddresses(ctx, url);
  const decision = evaluatePolicy(ctx.policy, {
    keyId,
    method,
    url,
    entropy: draft.entropy,
  });
  if (decision.verdict === 'block') {
    throw new SphyrPolicyError(decision.reason, `the request was denied by policy (${decision.reason})`);
  }
  return {
    url,
    addresses,
    reportReason: decision.reason === 'allowed' ? undefined : decision.reason,
  };
}
