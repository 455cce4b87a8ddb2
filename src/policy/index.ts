/** @module Policy: SSRF screening, routing, entropy, host globs, the policy file and decisions. */

export {
  type AddressClass,
  type AddressReason,
  type Cidr,
  canonicalAddress,
  classifyAddress,
  parseCidr,
  peerInRanges,
} from './address.js';
export {
  type ClassifyOptions,
  canonicalTargetUri,
  classifyForInstrumentation,
  type Route,
} from './classify.js';
export {
  type DenyCode,
  evaluatePolicy,
  evaluateToolPolicy,
  type PolicyDecision,
  type PolicyReason,
  type PolicyRequest,
} from './decide.js';
export { ENTROPY_BODY_PREFIX_BYTES, entropyScore, requestEntropy } from './entropy.js';
export { hostMatches, hostPatternProblem, normalizeHostPattern } from './host-glob.js';
export {
  type DenyRange,
  type DenyReason,
  DIRECT_IPV4_RANGES,
  IPV4_DENY,
  IPV6_DENY,
  IPV6_GLOBAL_UNICAST,
  METADATA_ADDRESSES,
} from './ip-ranges.js';
export {
  DEFAULT_POLICY,
  effectivePolicyForKey,
  type KeyOverride,
  loadPolicyFile,
  type Policy,
  type PolicyInput,
  PolicySchema,
  parsePolicy,
} from './policy-file.js';
export { type ScreenOptions, type ScreenReason, type ScreenResult, screenTarget } from './screen.js';
export { toolAllowed } from './tool-policy.js';
