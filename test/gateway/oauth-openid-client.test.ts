/**
 * The gateway's device login against an independent, OpenID-certified client: openid-client v6
 * (on oauth4webapi). It discovers the endpoints from RFC 8414 metadata, validates every response
 * strictly (JSON errors, token_type, interval) and really sleeps `interval` seconds between polls,
 * so these tests take 5–15 s each; they run concurrently, each on its own gateway and clock.
 */

import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { parseCredential } from '../../src/config/credential.js';
import type { GatewayContext } from '../../src/gateway/context.js';
import {
  approveGrant,
  denyGrant,
  findGrantForApproval,
  hashDeviceCode,
} from '../../src/gateway/oauth/device-grants.js';
import type { DeviceGrantRecord } from '../../src/gateway/store/types.js';
import { LOOPBACK_TEST_POLICY, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

interface Harness {
  tg: TestGateway;
  ctx: GatewayContext;
  /** Moves the gateway's clock against real time (openid-client keeps real time). */
  shift(ms: number): void;
  config: client.Configuration;
  /** What the token endpoint answered the client, in order: the `error`, or 'token'. */
  tokenAnswers: Array<{ at: number; answer: string }>;
  grant(deviceCode: string): Promise<DeviceGrantRecord>;
  decide(userCode: string, decision: 'approve' | 'deny'): Promise<void>;
}

async function harness(): Promise<Harness> {
  let offset = 0;
  const now = () => Date.now() + offset;
  const tg = await startTestGateway(LOOPBACK_TEST_POLICY, {
    now,
    adminPassword: 'correct horse battery staple',
  });
  const ctx = { store: tg.gateway.store, now } as unknown as GatewayContext;
  const config = await client.discovery(new URL(tg.gateway.url), 'sphyr-cli', undefined, client.None(), {
    algorithm: 'oauth2',
    // Plain http to 127.0.0.1 in tests only.
    execute: [client.allowInsecureRequests],
  });
  const tokenAnswers: Harness['tokenAnswers'] = [];
  config[client.customFetch] = async (url, options) => {
    const res = await fetch(url, options as RequestInit);
    if (new URL(url).pathname === '/oauth/token') {
      const body = (await res.clone().json()) as { error?: string };
      tokenAnswers.push({ at: Date.now(), answer: body.error ?? 'token' });
    }
    return res;
  };
  return {
    tg,
    ctx,
    shift: (ms) => {
      offset += ms;
    },
    config,
    tokenAnswers,
    async grant(deviceCode) {
      const grant = await tg.gateway.store.getDeviceGrantByDeviceCodeHash(hashDeviceCode(deviceCode));
      if (!grant) throw new Error('no such grant');
      return grant;
    },
    async decide(userCode, decision) {
      const grant = await findGrantForApproval(ctx, userCode);
      if (!grant) throw new Error('no pending grant');
      if (decision === 'approve') await approveGrant(ctx, grant, 'adm_test');
      else await denyGrant(ctx, grant, 'adm_test');
    },
  };
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.concurrent('device login with openid-client v6', () => {
  it('discovers, waits through authorization_pending and receives the credential', {
    timeout: 60_000,
  }, async () => {
    const h = await harness();
    try {
      expect(h.config.serverMetadata()).toMatchObject({
        issuer: h.tg.gateway.url,
        device_authorization_endpoint: `${h.tg.gateway.url}/oauth/device/code`,
        token_endpoint: `${h.tg.gateway.url}/oauth/token`,
      });
      const da = await client.initiateDeviceAuthorization(h.config, { scope: 'gateway' });
      expect(da).toMatchObject({
        expires_in: 600,
        interval: 5,
        verification_uri: `${h.tg.gateway.url}/device`,
      });
      const polling = client.pollDeviceAuthorizationGrant(h.config, da);
      // Approve only after the client's first poll was told to keep waiting.
      await waitFor(async () => (await h.grant(da.device_code)).lastPollAt !== null);
      await h.decide(da.user_code, 'approve');
      const tokens = await polling;

      expect(h.tokenAnswers.map((a) => a.answer)).toEqual(['authorization_pending', 'token']);
      // oauth4webapi lower-cases token_type; anything but bearer/dpop would have been refused.
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.access_token).toMatch(/^sphyr\.[^.]+\.[^.]+$/);
      expect(tokens.sphyr_credential).toBe(tokens.access_token);
      expect(tokens.sphyr_gateway_url).toBe(h.tg.gateway.url);
      expect(tokens.scope).toBe('gateway');
      expect(tokens.access_token).toContain(`.${tokens.key_id as string}.`);

      const agent = new GatewayClient({
        gatewayUrl: h.tg.gateway.url,
        credential: parseCredential(tokens.access_token, 'openid-client'),
        agent: { name: 'openid-client-test' },
      });
      expect(await agent.agentId()).toMatch(/\S/);
    } finally {
      await h.tg.close();
    }
  });

  it('slows down by 5 s when told slow_down, then still completes', { timeout: 60_000 }, async () => {
    // Provoking slow_down without flakiness: a second poller (this test, by hand) polls the same
    // device_code just before the client starts, and the gateway's clock is set 3 s behind real
    // time. The client's first poll then comes ≥ 5 s of real time but only ~2 s of gateway time
    // after the hand-made one: well inside the 5 s interval, so slow_down (interval → 10 s),
    // whatever the machine's speed. Once that is recorded the clock goes back, so the client's
    // next poll, 10 s later, is comfortably on time.
    const h = await harness();
    try {
      const da = await client.initiateDeviceAuthorization(h.config, { scope: 'gateway' });
      const handPoll = await fetch(`${h.tg.gateway.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: DEVICE_GRANT,
          device_code: da.device_code,
          client_id: 'sphyr-cli',
        }),
      });
      expect(((await handPoll.json()) as { error: string }).error).toBe('authorization_pending');
      h.shift(-3_000);
      const polling = client.pollDeviceAuthorizationGrant(h.config, da);
      await waitFor(async () => (await h.grant(da.device_code)).intervalSeconds === 10);
      h.shift(3_000);
      await h.decide(da.user_code, 'approve');
      const tokens = await polling;

      expect(h.tokenAnswers.map((a) => a.answer)).toEqual(['slow_down', 'token']);
      const [slowed, done] = h.tokenAnswers.map((a) => a.at) as [number, number];
      expect(done - slowed).toBeGreaterThanOrEqual(9_900);
      expect(tokens.access_token).toMatch(/^sphyr\./);
    } finally {
      await h.tg.close();
    }
  });

  it('rejects with access_denied when the login is denied', { timeout: 60_000 }, async () => {
    const h = await harness();
    try {
      const da = await client.initiateDeviceAuthorization(h.config, { scope: 'gateway' });
      await h.decide(da.user_code, 'deny');
      const error = await client.pollDeviceAuthorizationGrant(h.config, da).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(client.ResponseBodyError);
      expect((error as client.ResponseBodyError).error).toBe('access_denied');
    } finally {
      await h.tg.close();
    }
  });

  it('rejects with expired_token once the code has expired', { timeout: 60_000 }, async () => {
    const h = await harness();
    try {
      const da = await client.initiateDeviceAuthorization(h.config, { scope: 'gateway' });
      h.shift(601_000);
      const error = await client.pollDeviceAuthorizationGrant(h.config, da).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(client.ResponseBodyError);
      expect((error as client.ResponseBodyError).error).toBe('expired_token');
    } finally {
      await h.tg.close();
    }
  });

  it('refuses an unknown scope with invalid_scope', async () => {
    const h = await harness();
    try {
      const error = await client
        .initiateDeviceAuthorization(h.config, { scope: 'openid' })
        .catch((e: unknown) => e);
      expect((error as client.ResponseBodyError).error).toBe('invalid_scope');
    } finally {
      await h.tg.close();
    }
  });
});
