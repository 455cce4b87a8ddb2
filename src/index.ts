/**
 * @module @sphyr/sdk — the public surface: error classes, the policy functions users and tests
 * rely on, the credential and config readers, and the signing client.
 */
import { autoInstrument } from './sdk/auto-instrument.js';

export { autoInstrument };
export default autoInstrument;
export {
  GatewayClient,
  type GatewayClientOptions,
  type RelayRequest,
  type Verdict,
} from './client/gateway-client.js';
export { Credential, generateCredential, parseCredential } from './config/credential.js';
export { type ClientSettings, readClientSettings, writeClientSettings } from './config/local-config.js';
export {
  isSphyrError,
  SphyrAuthError,
  SphyrConfigError,
  SphyrError,
  SphyrNetworkError,
  SphyrPolicyError,
  SphyrRateLimitError,
  SphyrRequestError,
} from './errors.js';
export {
  canonicalTargetUri,
  classifyForInstrumentation,
  entropyScore,
  evaluatePolicy,
  loadPolicyFile,
  type Policy,
  parsePolicy,
  requestEntropy,
  screenTarget,
} from './policy/index.js';
export type { Instrumentation } from './sdk/auto-instrument.js';
export type { AutoInstrumentOptions } from './sdk/options.js';
export { verifyWebhook } from './sdk/webhook.js';
export { type WrappedHttp, wrapHttp } from './sdk/wrap-http.js';
