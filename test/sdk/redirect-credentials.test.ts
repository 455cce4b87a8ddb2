// Issue 11, item 3 (SDK side): credentials never cross origins on a redirect the SDK follows itself
// (the axios adapter, relayed or direct), nor on one fetch follows above the SDK's dispatcher.
// Two real targets on loopback: another port is another origin.
import axios from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { autoInstrument, type Instrumentation } from '../../src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

let gw: TestGateway;
let first: TargetServer;
let other: TargetServer;
let handle: Instrumentation | undefined;

beforeAll(async () => {
  gw = await startTestGateway('{"unsafeAllowRanges": ["127.0.0.0/8"], "rateLimits": {"perAgent": 1000}}');
  first = await startTarget();
  other = await startTarget();
});

afterAll(async () => {
  await gw?.close();
  await first?.close();
  await other?.close();
});

afterEach(() => {
  handle?.restore();
  handle = undefined;
});

const SECRETS = {
  Authorization: 'Bearer caller-token',
  Cookie: 'sid=caller',
  'Proxy-Authorization': 'Basic cA==',
};

function instrument(relayed: boolean) {
  handle = autoInstrument({
    gatewayUrl: gw.gateway.url,
    credential: gw.credential,
    instrumentHosts: relayed ? ['127.0.0.1'] : [],
    warn: () => {},
  });
}

/** What the final target received for `tag`. */
function received(target: TargetServer, tag: string) {
  const seen = target.seen.find((s) => s.url.includes(tag));
  expect(seen, `the hop ${tag} reached its target`).toBeDefined();
  return seen!.headers;
}

describe.each([
  ['relayed through the gateway', true],
  ['sent direct', false],
])('axios, %s', (_name, relayed) => {
  it('drops Authorization, Cookie and Proxy-Authorization on a hop to another origin', async () => {
    instrument(relayed);
    const tag = `cross-${relayed}`;
    const to = `${other.url}/echo?${tag}`;
    const res = await axios.get(`${first.url}/redirect?to=${encodeURIComponent(to)}`, { headers: SECRETS });
    expect(res.status).toBe(200);
    const headers = received(other, tag);
    expect(headers.authorization).toBeUndefined();
    expect(headers.cookie).toBeUndefined();
    expect(headers['proxy-authorization']).toBeUndefined();
  });

  it('drops the Authorization axios builds from `auth` on a hop to another origin', async () => {
    instrument(relayed);
    const tag = `auth-${relayed}`;
    const to = `${other.url}/echo?${tag}`;
    await axios.get(`${first.url}/redirect?to=${encodeURIComponent(to)}&from=${tag}`, {
      auth: { username: 'caller', password: 'secret' },
    });
    expect(received(first, `from=${tag}`).authorization).toMatch(/^Basic /); // sent where it was meant for
    expect(received(other, tag).authorization).toBeUndefined();
  });

  it('keeps them on a hop to the same origin', async () => {
    instrument(relayed);
    const tag = `same-${relayed}`;
    await axios.get(`${first.url}/redirect?to=${encodeURIComponent(`/echo?${tag}`)}`, { headers: SECRETS });
    const headers = received(first, tag);
    expect(headers.authorization).toBe(SECRETS.Authorization);
    expect(headers.cookie).toBe(SECRETS.Cookie);
  });
});

describe('fetch, relayed through the gateway', () => {
  it('drops Authorization, Cookie and Proxy-Authorization on a hop to another origin', async () => {
    instrument(true);
    const to = `${other.url}/echo?fetch-cross`;
    const res = await fetch(`${first.url}/redirect?to=${encodeURIComponent(to)}`, { headers: SECRETS });
    expect(res.status).toBe(200);
    await res.text();
    const headers = received(other, 'fetch-cross');
    expect([headers.authorization, headers.cookie, headers['proxy-authorization']]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});
