/**
 * @module @sphyr/gateway — the self-hosted gateway as a package: the server, its embedded SQLite
 * store (the native driver lives here, not in @sphyr/sdk) and what `sphyr gateway|keys|log` need.
 * The CLI loads it on demand (src/cli/gateway-package.ts), so the CLI and the SDK stay light.
 */
export { DEFAULT_POLICY, loadPolicyFile, type Policy, parsePolicy } from '../policy/index.js';
export { AGENT_ID_TEXT, newKeyId } from './ids.js';
export {
  DEFAULT_HOST,
  DEFAULT_PORT,
  type GatewayOptions,
  type RunningGateway,
  startGateway,
} from './server.js';
export { SqliteStore } from './store/sqlite-store.js';
export type { LogRecord, LogSearch } from './store/types.js';
