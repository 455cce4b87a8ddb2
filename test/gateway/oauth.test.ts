import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { parseCredential } from '../../src/config/credential.js';
import type { GatewayContext } from '../../src/gateway/context.js';
import {
  approveGrant,
  denyGrant,
  findGrantForApproval,
  hashDeviceCode,
} from '../../src/gateway/oauth/device-grants.js';
import { SqliteStore } from '../../src/gateway/store/sqlite-store.js';
import { LOOPBACK_TEST_POLICY, startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';

const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const CLIENT_ID = 'sphyr-cli';

/** A clock the test moves by hand: expiry and poll intervals without sleeping. */
function testClock() {
  let t = Date.now();
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function answer(res: Response): Promise<Answer> {
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

function postForm(url: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

interface DeviceCodeBody {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

describe('OAuth device login endpoints', () => {
  const clock = testClock();
  const warnings: string[] = [];
  const secretsSeen: string[] = [];
  let tg: TestGateway;
  let ctx: GatewayContext;

  beforeAll(async () => {
    tg = await startTestGateway(LOOPBACK_TEST_POLICY, {
      now: clock.now,
      adminPassword: 'correct horse battery staple',
      warn: (m) => warnings.push(m),
    });
    // What approveGrant/denyGrant use of the context: the store and the clock.
    ctx = { store: tg.gateway.store, now: clock.now } as unknown as GatewayContext;
  });
  afterAll(async () => {
    // Nothing secret in operator output (normally there is no output at all).
    for (const w of warnings) for (const s of secretsSeen) expect(w).not.toContain(s);
    await tg?.close();
  });
  // A fresh minute per test, so the per-IP device-code quota of one test does not touch the next.
  beforeEach(() => clock.advance(61_000));

  const url = (path: string) => `${tg.gateway.url}${path}`;

  async function startLogin(params: Record<string, string> = {}, headers: Record<string, string> = {}) {
    const res = await postForm(url('/oauth/device/code'), { client_id: CLIENT_ID, ...params }, headers);
    expect(res.status).toBe(200);
    const body = (await res.json()) as DeviceCodeBody;
    secretsSeen.push(body.device_code, body.user_code);
    return body;
  }

  async function poll(deviceCode: string, clientId = CLIENT_ID): Promise<Answer> {
    const a = await answer(
      await postForm(url('/oauth/token'), {
        grant_type: DEVICE_GRANT,
        device_code: deviceCode,
        client_id: clientId,
      }),
    );
    expect(a.headers.get('cache-control')).toBe('no-store');
    expect(a.headers.get('content-type')).toMatch(/^application\/json/);
    if (a.status !== 200) {
      expect(a.status).toBe(400);
      expect(typeof a.body.error_description).toBe('string');
    }
    return a;
  }

  async function approve(userCode: string) {
    const grant = await findGrantForApproval(ctx, userCode);
    if (!grant) throw new Error('no pending grant for this code');
    return approveGrant(ctx, grant, 'adm_test');
  }

  it('publishes RFC 8414 metadata for the device grant', async () => {
    const res = await fetch(url('/.well-known/oauth-authorization-server'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(await res.json()).toEqual({
      issuer: tg.gateway.url,
      device_authorization_endpoint: `${tg.gateway.url}/oauth/device/code`,
      token_endpoint: `${tg.gateway.url}/oauth/token`,
      grant_types_supported: [DEVICE_GRANT],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['none'],
      scopes_supported: ['gateway'],
    });
    const head = await fetch(url('/.well-known/oauth-authorization-server'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    const post = await answer(
      await fetch(url('/.well-known/oauth-authorization-server'), { method: 'POST' }),
    );
    expect(post.status).toBe(405);
    expect(post.body.error).toBe('invalid_request');
    const other = await answer(await fetch(url('/.well-known/openid-configuration')));
    expect(other.status).toBe(404);
    expect(other.body.error).toBe('not_found');
  });

  it('issues a device code with a user code, the verification URIs and an interval', async () => {
    const res = await postForm(
      url('/oauth/device/code'),
      { client_id: CLIENT_ID, scope: 'gateway', device_name: 'build-box' },
      { 'user-agent': 'sphyr/0.1.0 (linux)' },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as DeviceCodeBody;
    secretsSeen.push(body.device_code, body.user_code);
    expect(Object.keys(body).sort()).toEqual(
      [
        'device_code',
        'expires_in',
        'interval',
        'user_code',
        'verification_uri',
        'verification_uri_complete',
      ].sort(),
    );
    expect(body.user_code).toMatch(USER_CODE);
    expect(body.device_code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.verification_uri).toBe(`${tg.gateway.url}/device`);
    expect(body.verification_uri_complete).toBe(`${tg.gateway.url}/device?user_code=${body.user_code}`);
    expect(body.expires_in).toBe(600);
    expect(body.interval).toBe(5);

    const grant = await tg.gateway.store.getDeviceGrantByDeviceCodeHash(hashDeviceCode(body.device_code));
    expect(grant).toMatchObject({
      userCode: body.user_code,
      clientId: CLIENT_ID,
      scope: 'gateway',
      deviceName: 'build-box',
      requesterAgent: 'sphyr/0.1.0 (linux)',
      status: 'pending',
      intervalSeconds: 5,
      lastPollAt: null,
    });
    expect(grant?.requesterIp).toMatch(/127\.0\.0\.1$/);

    // Without device_name the User-Agent names the device; no scope means the default.
    const plain = await startLogin({}, { 'user-agent': 'curl/8.5.0' });
    const plainGrant = await tg.gateway.store.getDeviceGrantByDeviceCodeHash(
      hashDeviceCode(plain.device_code),
    );
    expect(plainGrant).toMatchObject({ deviceName: 'curl/8.5.0', scope: 'gateway' });
  });

  it('refuses malformed device authorization requests with OAuth JSON errors', async () => {
    const cases: Array<[RequestInit, number, string]> = [
      [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ client_id: CLIENT_ID }),
        },
        400,
        'invalid_request',
      ],
      [
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'scope=gateway',
        },
        400,
        'invalid_request',
      ],
      [
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'client_id=a&client_id=b',
        },
        400,
        'invalid_request',
      ],
      [
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_id: 'x'.repeat(101) }).toString(),
        },
        400,
        'invalid_request',
      ],
      [
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `client_id=${CLIENT_ID}&pad=${'x'.repeat(9000)}`,
        },
        400,
        'invalid_request',
      ],
      [
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `client_id=${CLIENT_ID}&scope=gateway+admin`,
        },
        400,
        'invalid_scope',
      ],
      [{ method: 'GET' }, 405, 'invalid_request'],
    ];
    for (const [init, status, error] of cases) {
      const a = await answer(await fetch(url('/oauth/device/code'), init));
      expect([a.status, a.body.error]).toEqual([status, error]);
      expect(a.headers.get('cache-control')).toBe('no-store');
      expect(typeof a.body.error_description).toBe('string');
    }
  });

  it('answers authorization_pending while nobody has decided, polled at the interval', async () => {
    const code = await startLogin();
    expect((await poll(code.device_code)).body.error).toBe('authorization_pending');
    clock.advance(5_000);
    const again = await poll(code.device_code);
    expect(again.body.error).toBe('authorization_pending');
    expect(again.body.interval).toBe(5);
  });

  it('answers slow_down to a poll before the interval, adding 5 s for every later poll', async () => {
    const code = await startLogin();
    const hash = hashDeviceCode(code.device_code);
    expect((await poll(code.device_code)).body.error).toBe('authorization_pending');
    clock.advance(2_000);
    const fast = await poll(code.device_code);
    expect(fast.body).toMatchObject({ error: 'slow_down', interval: 10 });
    expect((await tg.gateway.store.getDeviceGrantByDeviceCodeHash(hash))?.intervalSeconds).toBe(10);
    // The new interval is persisted: 9 s later is still too soon (and costs another 5 s).
    clock.advance(9_000);
    expect((await poll(code.device_code)).body).toMatchObject({ error: 'slow_down', interval: 15 });
    clock.advance(15_000);
    expect((await poll(code.device_code)).body).toMatchObject({
      error: 'authorization_pending',
      interval: 15,
    });
  });

  it('hands over the credential of an approved login once; it signs real calls', async () => {
    const code = await startLogin({ device_name: 'laptop' });
    expect((await poll(code.device_code)).body.error).toBe('authorization_pending');
    const { keyId } = await approve(code.user_code);
    clock.advance(5_000);
    const ok = await poll(code.device_code);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('pragma')).toBe('no-cache');
    const credential = ok.body.access_token as string;
    secretsSeen.push(credential);
    expect(credential).toMatch(new RegExp(`^sphyr\\.${keyId}\\.`));
    expect(ok.body).toEqual({
      access_token: credential,
      token_type: 'Bearer',
      scope: 'gateway',
      sphyr_credential: credential,
      sphyr_gateway_url: tg.gateway.url,
      key_id: keyId,
    });
    expect(ok.body).not.toHaveProperty('expires_in');

    // Single use: the next redemption fails, and the sealed credential is gone from the store.
    clock.advance(5_000);
    expect((await poll(code.device_code)).body.error).toBe('invalid_grant');
    const grant = await tg.gateway.store.getDeviceGrantByDeviceCodeHash(hashDeviceCode(code.device_code));
    expect(grant).toMatchObject({ status: 'consumed', sealedCredential: null, decidedBy: 'adm_test' });

    // The key exists, named after the device, and the credential registers an agent.
    const key = await tg.gateway.store.getKey(keyId);
    expect(key?.record.name).toMatch(/^laptop \(device login/);
    const client = new GatewayClient({
      gatewayUrl: tg.gateway.url,
      credential: parseCredential(credential, 'token response'),
      agent: { name: 'device-login-test' },
      now: clock.now,
    });
    expect(await client.agentId()).toMatch(/\S/);
  });

  it('answers access_denied once the login is denied', async () => {
    const code = await startLogin();
    const grant = await findGrantForApproval(ctx, code.user_code);
    if (!grant) throw new Error('no grant');
    await denyGrant(ctx, grant, 'adm_test');
    expect((await poll(code.device_code)).body.error).toBe('access_denied');
    clock.advance(5_000);
    expect((await poll(code.device_code)).body.error).toBe('access_denied');
  });

  it('answers expired_token after the code lifetime', async () => {
    const code = await startLogin();
    expect((await poll(code.device_code)).body.error).toBe('authorization_pending');
    clock.advance(600_001);
    expect((await poll(code.device_code)).body.error).toBe('expired_token');
    // Nor can it be approved any more.
    expect(await findGrantForApproval(ctx, code.user_code)).toBeUndefined();
  });

  it('lets a login approved just in time be collected on the next poll, not later', async () => {
    const late = await startLogin();
    const later = await startLogin();
    clock.advance(599_000);
    await approve(late.user_code);
    await approve(later.user_code);
    clock.advance(4_000);
    expect((await poll(late.device_code)).status).toBe(200);
    clock.advance(60_000);
    expect((await poll(later.device_code)).body.error).toBe('expired_token');
  });

  it('revokes the key of an approved login nobody collected, at the next purge', async () => {
    const code = await startLogin();
    const { keyId } = await approve(code.user_code);
    clock.advance(600_000 + 5 * 60_000 + 1);
    await tg.gateway.purge();
    expect((await tg.gateway.store.getKey(keyId))?.record.revokedAt).not.toBeNull();
    const grant = await tg.gateway.store.getDeviceGrantByDeviceCodeHash(hashDeviceCode(code.device_code));
    expect(grant?.sealedCredential).toBeNull();
    expect((await poll(code.device_code)).body.error).toBe('expired_token');
  });

  it('checks client_id, device_code and grant_type', async () => {
    const code = await startLogin();
    expect((await poll(code.device_code, 'another-client')).body.error).toBe('invalid_client');
    expect((await poll('not-a-real-device-code')).body.error).toBe('invalid_grant');
    const cases: Array<[Record<string, string>, string]> = [
      [{ grant_type: 'client_credentials', client_id: CLIENT_ID }, 'unsupported_grant_type'],
      [{ grant_type: 'authorization_code', code: 'x', client_id: CLIENT_ID }, 'unsupported_grant_type'],
      [{ device_code: code.device_code, client_id: CLIENT_ID }, 'invalid_request'],
      [{ grant_type: DEVICE_GRANT, client_id: CLIENT_ID }, 'invalid_request'],
      [{ grant_type: DEVICE_GRANT, device_code: code.device_code }, 'invalid_request'],
    ];
    for (const [params, error] of cases) {
      const a = await answer(await postForm(url('/oauth/token'), params));
      expect([a.status, a.body.error]).toEqual([400, error]);
      expect(a.headers.get('cache-control')).toBe('no-store');
    }
    const get = await answer(await fetch(url('/oauth/token')));
    expect([get.status, get.body.error]).toEqual([405, 'invalid_request']);
    // None of that counted as a poll of the real code.
    const grant = await tg.gateway.store.getDeviceGrantByDeviceCodeHash(hashDeviceCode(code.device_code));
    expect(grant?.lastPollAt).toBeNull();
  });

  it('caps device codes per address per minute with a JSON 429', async () => {
    for (let i = 0; i < 20; i += 1) await startLogin();
    const res = await postForm(url('/oauth/device/code'), { client_id: CLIENT_ID });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as { error: string }).error).toBe('slow_down');
    clock.advance(60_000);
    await startLogin();
  });
});

describe('racing token requests', () => {
  let tg: TestGateway;
  beforeAll(async () => {
    // A store whose grant lookups take a while, as a networked store's would: without the
    // per-code lock in the token endpoint, every racing poll would read "approved" and redeem.
    const store = await SqliteStore.open(await tempDir());
    const slow = new Proxy(store, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop === 'getDeviceGrantByDeviceCodeHash') {
          return async (hash: string) => {
            const grant = await target.getDeviceGrantByDeviceCodeHash(hash);
            await new Promise((resolve) => setTimeout(resolve, 20));
            return grant;
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    tg = await startTestGateway(LOOPBACK_TEST_POLICY, {
      store: slow,
      adminPassword: 'correct horse battery staple',
    });
  });
  afterAll(() => tg?.close());

  it('redeems a code only once even when polls race', async () => {
    const ctx = { store: tg.gateway.store, now: Date.now } as unknown as GatewayContext;
    const started = await postForm(`${tg.gateway.url}/oauth/device/code`, { client_id: CLIENT_ID });
    const code = (await started.json()) as DeviceCodeBody;
    const grant = await findGrantForApproval(ctx, code.user_code);
    if (!grant) throw new Error('no grant');
    await approveGrant(ctx, grant, 'adm_test');
    const params = { grant_type: DEVICE_GRANT, device_code: code.device_code, client_id: CLIENT_ID };
    const answers = await Promise.all(
      Array.from({ length: 6 }, async () => answer(await postForm(`${tg.gateway.url}/oauth/token`, params))),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.body.error === 'invalid_grant')).toHaveLength(5);
  });
});

describe('the pre-auth limit on the OAuth endpoints', () => {
  let tg: TestGateway;
  beforeAll(async () => {
    // A frozen clock: every request lands in the same rolling second.
    const t = Date.now();
    tg = await startTestGateway('{"rateLimits":{"preAuthPerIp":3}}', {
      now: () => t,
      adminPassword: 'correct horse battery staple',
    });
  });
  afterAll(() => tg?.close());

  it('answers JSON slow_down on the token endpoint (never a bare 429) and a JSON 429 elsewhere', async () => {
    const tokenUrl = `${tg.gateway.url}/oauth/token`;
    const params = { grant_type: DEVICE_GRANT, device_code: 'unknown', client_id: CLIENT_ID };
    const answers: Answer[] = [];
    for (let i = 0; i < 5; i += 1) answers.push(await answer(await postForm(tokenUrl, params)));
    expect(answers.map((a) => a.body.error)).toEqual([
      'invalid_grant',
      'invalid_grant',
      'invalid_grant',
      'slow_down',
      'slow_down',
    ]);
    for (const a of answers.slice(3)) {
      expect(a.status).toBe(400);
      expect(a.headers.get('content-type')).toMatch(/^application\/json/);
      expect(a.headers.get('cache-control')).toBe('no-store');
    }
    const code = await answer(
      await postForm(`${tg.gateway.url}/oauth/device/code`, { client_id: CLIENT_ID }),
    );
    expect([code.status, code.body.error]).toEqual([429, 'slow_down']);
    expect(Number(code.headers.get('retry-after'))).toBeGreaterThan(0);
    const meta = await answer(await fetch(`${tg.gateway.url}/.well-known/oauth-authorization-server`));
    expect(meta.status).toBe(429);
    expect(meta.headers.get('content-type')).toMatch(/^application\/json/);
  });
});
