import { rm } from 'node:fs/promises';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { type Credential, generateCredential } from '../../src/config/credential.js';
import { newKeyId } from '../../src/gateway/ids.js';
import { type GatewayOptions, type RunningGateway, startGateway } from '../../src/gateway/server.js';
import { type Policy, parsePolicy } from '../../src/policy/index.js';
import { tempDir } from './temp.js';

/** Reaches only the loopback test target; never real by default (DESIGN: only via unsafeAllowRanges). */
export const LOOPBACK_TEST_POLICY = '{"unsafeAllowRanges": ["127.0.0.0/8"]}';

export { tempDir } from './temp.js';

export interface TestGateway {
  gateway: RunningGateway;
  dataDir: string;
  credential: Credential;
  /** Everything the gateway told its operator (stderr in production). */
  warnings: string[];
  client(name?: string): GatewayClient;
  close(): Promise<void>;
}

/** An in-process gateway on 127.0.0.1 (real sockets, real SQLite) with one key. */
export async function startTestGateway(
  policyText = LOOPBACK_TEST_POLICY,
  options: Partial<GatewayOptions> = {},
): Promise<TestGateway> {
  const dataDir = await tempDir();
  const policy: Policy = parsePolicy(policyText, 'test-policy.json');
  const warnings: string[] = [];
  const gateway = await startGateway({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    policy,
    warn: (m) => warnings.push(m),
    ...options,
  });
  const credential = generateCredential(newKeyId());
  await gateway.store.createKey(credential.keyId, 'test', credential.secret, Date.now());
  return {
    gateway,
    dataDir,
    credential,
    warnings,
    client: (name = 'test-agent') =>
      new GatewayClient({ gatewayUrl: gateway.url, credential, agent: { name } }),
    async close() {
      await gateway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
