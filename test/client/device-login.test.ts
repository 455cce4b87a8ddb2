import { describe, expect, it } from 'vitest';
import { deviceLogin } from '../../src/client/device-login.js';

type Step = { status: number; body: Record<string, unknown> };

/** A scripted authorization server: metadata, one device code, then the given token answers. */
function fakeServer(tokenAnswers: Step[]) {
  const polls: Array<{ at: number; form: URLSearchParams }> = [];
  let clock = 0;
  const fetchImpl = (async (input: string | URL, init?: RequestInit) => {
    const url = String(input);
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    if (url.endsWith('/.well-known/oauth-authorization-server')) {
      return json(200, {
        issuer: 'http://gw',
        device_authorization_endpoint: 'http://gw/oauth/device/code',
        token_endpoint: 'http://gw/oauth/token',
      });
    }
    const form = new URLSearchParams(String(init?.body));
    if (url.endsWith('/oauth/device/code')) {
      expect(form.get('client_id')).toBe('sphyr-cli');
      return json(200, {
        device_code: 'dev-code',
        user_code: 'BCDF-GHJK',
        verification_uri: 'http://gw/device',
        verification_uri_complete: 'http://gw/device?user_code=BCDF-GHJK',
        expires_in: 600,
        interval: 5,
      });
    }
    polls.push({ at: clock, form });
    const step = tokenAnswers.shift() ?? { status: 400, body: { error: 'authorization_pending' } };
    return json(step.status, step.body);
  }) as typeof fetch;
  return {
    polls,
    options: {
      gatewayUrl: 'http://gw',
      deviceName: 'laptop',
      fetch: fetchImpl,
      now: () => clock,
      sleep: async (ms: number) => {
        clock += ms;
      },
    },
  };
}

describe('deviceLogin (RFC 8628 client)', () => {
  it('polls at the interval, adds 5 s on slow_down, and returns the credential', async () => {
    const server = fakeServer([
      { status: 400, body: { error: 'authorization_pending' } },
      { status: 400, body: { error: 'slow_down' } },
      { status: 400, body: { error: 'authorization_pending' } },
      {
        status: 200,
        body: {
          access_token: 'sphyr.k1.c2VjcmV0',
          token_type: 'Bearer',
          sphyr_gateway_url: 'https://gw.example',
        },
      },
    ]);
    const shown: string[] = [];
    const result = await deviceLogin({ ...server.options, onCode: (a) => void shown.push(a.userCode) });
    expect(shown).toEqual(['BCDF-GHJK']);
    expect(result).toEqual({ credential: 'sphyr.k1.c2VjcmV0', gatewayUrl: 'https://gw.example' });
    expect(server.polls.map((p) => p.at)).toEqual([5000, 10_000, 20_000, 30_000]);
    expect(server.polls[0]?.form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:device_code');
    expect(server.polls[0]?.form.get('device_code')).toBe('dev-code');
  });

  it('stops with a clear error when denied', async () => {
    const server = fakeServer([{ status: 400, body: { error: 'access_denied' } }]);
    await expect(deviceLogin({ ...server.options, onCode: () => {} })).rejects.toMatchObject({
      code: 'access_denied',
      message: expect.stringContaining('denied'),
    });
  });

  it('stops when the server says the code expired, or when its lifetime has passed', async () => {
    const expired = fakeServer([{ status: 400, body: { error: 'expired_token' } }]);
    await expect(deviceLogin({ ...expired.options, onCode: () => {} })).rejects.toMatchObject({
      code: 'expired_token',
      message: expect.stringContaining('sphyr login again'),
    });
    const forever = fakeServer([]);
    await expect(deviceLogin({ ...forever.options, onCode: () => {} })).rejects.toMatchObject({
      code: 'expired_token',
    });
    expect(forever.polls.length).toBe(120); // every 5 s up to the 600 s lifetime, then it gives up
  });

  it('says when the gateway is not reachable or not a Sphyr gateway', async () => {
    const down = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    }) as typeof fetch;
    await expect(
      deviceLogin({ gatewayUrl: 'http://127.0.0.1:9', deviceName: 'x', fetch: down, onCode: () => {} }),
    ).rejects.toMatchObject({
      code: 'gateway_unreachable',
      message: expect.stringContaining('ECONNREFUSED'),
    });
    const other = (async () => new Response('nope', { status: 404 })) as typeof fetch;
    await expect(
      deviceLogin({ gatewayUrl: 'http://example', deviceName: 'x', fetch: other, onCode: () => {} }),
    ).rejects.toMatchObject({ code: 'gateway_bad_response' });
  });
});
