/**
 * @module Policy decision for one request (DESIGN §3.5): host globs, methods, entropy threshold, with
 * per-key overrides. In `report` mode a would-deny passes and is logged as `report_<code>`.
 */

import { hostMatches } from './host-glob.js';
import { effectivePolicyForKey, type Policy } from './policy-file.js';
import { toolAllowed } from './tool-policy.js';

/** Codes for a request the policy would refuse. */
export type DenyCode = 'policy_denied_host' | 'policy_denied_method' | 'policy_denied_entropy';

/** Every reason {@link evaluatePolicy} can give. */
export type PolicyReason = 'allowed' | DenyCode | `report_${DenyCode}`;

/** What the gateway knows about a request when it applies the policy. */
export interface PolicyRequest {
  keyId: string;
  method: string;
  url: URL;
  /** From `requestEntropy`, bits per byte. */
  entropy: number;
}

/** Result of {@link evaluatePolicy}. `enforced` is true when the policy is in `enforce` mode. */
export interface PolicyDecision {
  verdict: 'allow' | 'block';
  reason: PolicyReason;
  enforced: boolean;
}

function firstDenial(policy: Policy, req: PolicyRequest): DenyCode | undefined {
  const host = req.url.hostname;
  const { allow, deny } = policy.hosts;
  // Deny wins over allow; an empty allow list means every host.
  if (deny.some((p) => hostMatches(host, p))) return 'policy_denied_host';
  if (allow.length > 0 && !allow.some((p) => hostMatches(host, p))) return 'policy_denied_host';
  if (policy.methods && !policy.methods.includes(req.method.toUpperCase())) return 'policy_denied_method';
  // `!(x <= t)` so a NaN score fails closed.
  if (policy.entropyThreshold !== undefined && !(req.entropy <= policy.entropyThreshold)) {
    return 'policy_denied_entropy';
  }
  return undefined;
}

/**
 * Applies `policy` (with the overrides for `req.keyId`) to one request. Checks run host → method →
 * entropy; the first failure is the reason. SSRF screening is separate and never relaxed by report mode.
 * @example evaluatePolicy(DEFAULT_POLICY, { keyId: 'k', method: 'GET', url, entropy: 3 }).verdict //=> 'allow'
 */
export function evaluatePolicy(policy: Policy, req: PolicyRequest): PolicyDecision {
  const enforced = policy.mode === 'enforce';
  const denial = firstDenial(effectivePolicyForKey(policy, req.keyId), req);
  if (denial === undefined) return { verdict: 'allow', reason: 'allowed', enforced };
  return enforced
    ? { verdict: 'block', reason: denial, enforced }
    : { verdict: 'allow', reason: `report_${denial}`, enforced };
}

/** The policy's verdict on calling `tool` under `keyId`; report mode lets it pass as `report_…`. */
export function evaluateToolPolicy(
  policy: Policy,
  keyId: string,
  tool: string,
): { verdict: 'allow' | 'block'; reason: 'allowed' | 'policy_denied_tool' | 'report_policy_denied_tool' } {
  const lists = effectivePolicyForKey(policy, keyId).tools;
  if (!lists || toolAllowed(tool, lists.allow ?? [], lists.deny ?? [])) {
    return { verdict: 'allow', reason: 'allowed' };
  }
  return policy.mode === 'enforce'
    ? { verdict: 'block', reason: 'policy_denied_tool' }
    : { verdict: 'allow', reason: 'report_policy_denied_tool' };
}
