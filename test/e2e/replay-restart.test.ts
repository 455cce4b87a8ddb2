import { describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { generateCredential } from '../../src/config/credential.js';
import { newKeyId } from '../../src/gateway/ids.js';
import { startGateway } from '../../src/gateway/server.js';
import { parsePolicy } from '../../src/policy/index.js';
import { LOOPBACK_TEST_POLICY, tempDir } from '../helpers/gateway.js';
import { errorCode, sendSigned } from '../helpers/signed-request.js';
import { startTarget } from '../helpers/target-server.js';

/**
 * Issue 11 review F2: used nonces live in memory, so a restarted gateway has forgotten them. A
 * request captured before the restart and replayed within its signature's lifetime must still fail.
 */
describe('a replay across a gateway restart', () => {
  it('is refused (clock_skew: the client signs again), and the target sees the request once', async () => {
    const target = await startTarget();
    const dataDir = await tempDir();
    const policy = parsePolicy(LOOPBACK_TEST_POLICY, 'test');
    const options = { host: '127.0.0.1', dataDir, policy, warn: () => {} };
    let gateway = await startGateway({ ...options, port: 0 });
    const port = gateway.port;
    try {
      const credential = generateCredential(newKeyId());
      await gateway.store.createKey(credential.keyId, 'replayer', credential.secret, Date.now());
      const agentId = await new GatewayClient({
        gatewayUrl: gateway.url,
        credential,
        agent: { name: 'replayer' },
      }).agentId();
      const captured = {
        gatewayUrl: gateway.url,
        credential,
        agentId,
        method: 'POST',
        target: `${target.url}/echo/captured`,
        body: 'transfer 100',
        signWith: { nowSeconds: Math.floor(Date.now() / 1000), nonce: 'Y2FwdHVyZWQtbm9uY2UtMDE' },
      };
      expect((await sendSigned(captured)).status).toBe(200);
      expect(await errorCode(await sendSigned(captured))).toBe('replay');

      await gateway.close();
      // Past the second the signature was made in: within that second a restart cannot tell (README).
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 10));
      gateway = await startGateway({ ...options, port });
      const replayed = await sendSigned(captured);
      expect(replayed.status).toBe(401);
      expect(await errorCode(replayed)).toBe('clock_skew');
      expect(target.seen.filter((r) => r.url === '/echo/captured')).toHaveLength(1);
      // A client that signs again gets through at once.
      const fresh = await sendSigned({ ...captured, signWith: undefined });
      expect(fresh.status).toBe(200);
    } finally {
      await gateway.close();
      await target.close();
    }
  });
});
