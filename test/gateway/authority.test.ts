import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { GatewayAuthorities } from '../../src/gateway/authority.js';
import { EMPTY_CONTENT_DIGEST } from '../../src/signing/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type RawResponse, rawUpload, signedHeaders } from '../helpers/raw-upload.js';

/** A signed GET /v1/whoami that names `authority` in its signature and its Host header. */
async function whoamiAs(gw: TestGateway, authority: string): Promise<RawResponse> {
  return rawUpload({
    gatewayUrl: gw.gateway.url,
    path: '/v1/whoami',
    method: 'GET',
    bodyBytes: 0,
    headers: signedHeaders({
      gatewayUrl: gw.gateway.url,
      kind: 'register',
      method: 'GET',
      path: '/v1/whoami',
      keyId: gw.credential.keyId,
      key: gw.credential.secret,
      digest: EMPTY_CONTENT_DIGEST,
      authority,
    }),
  });
}

async function expectRefused(gw: TestGateway, authority: string): Promise<void> {
  const res = await whoamiAs(gw, authority);
  expect({ authority, status: res.status, code: res.code }).toEqual({
    authority,
    status: 421,
    code: 'wrong_authority',
  });
  expect(res.headers['sphyr-outcome']).toBe('unauthorized');
}

async function expectAccepted(gw: TestGateway, authority: string): Promise<void> {
  const res = await whoamiAs(gw, authority);
  expect({ authority, status: res.status }).toEqual({ authority, status: 200 });
}

describe('the signed @authority must be this gateway (public URL https://b.example, bound to 127.0.0.1)', () => {
  let gw: TestGateway;
  let port: number;
  beforeAll(async () => {
    gw = await startTestGateway(undefined, { publicUrl: 'https://b.example' });
    port = gw.gateway.port;
  });
  afterAll(async () => gw?.close());

  it('refuses a request signed for Host a.example with 421 wrong_authority, and logs it', async () => {
    await expectRefused(gw, 'a.example');
    const [record] = await gw.gateway.store.query({ limit: 1 });
    expect(record).toMatchObject({ outcome: 'unauthorized', reason: 'wrong_authority', status: 421 });
  });

  it('accepts the public authority however it is spelled: default port, case, trailing dot', async () => {
    for (const authority of ['b.example', 'b.example:443', 'B.EXAMPLE', 'B.Example:443', 'b.example.']) {
      await expectAccepted(gw, authority);
    }
  });

  it('refuses the public host on another port, or the wrong default port for its scheme', async () => {
    for (const authority of ['b.example:80', 'b.example:8443', `b.example:${port}`]) {
      await expectRefused(gw, authority);
    }
  });

  it('accepts the loopback names of its listener (127.0.0.1 and localhost on its port)', async () => {
    for (const authority of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST.:${port}`]) {
      await expectAccepted(gw, authority);
    }
  });

  it('refuses other loopback ports, lookalikes and malformed hosts', async () => {
    for (const authority of [
      `127.0.0.1:${port + 1}`,
      '127.0.0.1',
      `b.example.evil:${port}`,
      'evil.b.example',
      'b.example..',
      `user@127.0.0.1:${port}`,
      `127.0.0.1:${port}/x`,
    ]) {
      await expectRefused(gw, authority);
    }
  });

  it('the SDK client, pointed at the listener or at localhost, still works', async () => {
    for (const url of [gw.gateway.url, `http://localhost:${port}`]) {
      const client = new GatewayClient({ gatewayUrl: url, credential: gw.credential, agent: { name: 'a' } });
      await expect(client.agentId()).resolves.toMatch(/^agt_/);
    }
  });
});

describe('without --public-url, the listen address decides', () => {
  it('bound to 127.0.0.1: its literal and localhost; not ::1, not the interface addresses', async () => {
    const gw = await startTestGateway();
    try {
      const port = gw.gateway.port;
      await expectAccepted(gw, `127.0.0.1:${port}`);
      await expectAccepted(gw, `localhost:${port}`);
      await expectRefused(gw, `[::1]:${port}`);
      await expectRefused(gw, `sphyr.example:${port}`);
    } finally {
      await gw.close();
    }
  });

  it('bound to [::1]: the bracketed literal in any spelling, and localhost', async () => {
    const gw = await startTestGateway(undefined, { host: '::1' });
    try {
      const port = gw.gateway.port;
      expect(gw.gateway.url).toBe(`http://[::1]:${port}`);
      await expectAccepted(gw, `[::1]:${port}`);
      await expectAccepted(gw, `[0:0:0:0:0:0:0:1]:${port}`);
      await expectAccepted(gw, `localhost:${port}`);
      await expectRefused(gw, `127.0.0.1:${port}`);
      await expectRefused(gw, `::1:${port}`);
    } finally {
      await gw.close();
    }
  });
});

describe('GatewayAuthorities (what the gateway answers to)', () => {
  const interfaces = () => ['127.0.0.1', '::1', '192.0.2.2', 'fd00::2', 'fe80::fc:ff:fe00:1'];
  const base = { port: 7470, hostname: 'vm', interfaceAddresses: interfaces };

  it('wildcard 0.0.0.0, no public URL: any IPv4 interface address, localhost and the host name', () => {
    const a = new GatewayAuthorities({ ...base, address: '0.0.0.0' });
    for (const ok of ['192.0.2.2:7470', '127.0.0.1:7470', 'localhost:7470', 'vm:7470', 'VM.:7470']) {
      expect([ok, a.accepts(ok)]).toEqual([ok, true]);
    }
    for (const no of [
      '192.0.2.3:7470',
      '192.0.2.2:7471',
      '[fd00::2]:7470',
      '0.0.0.0:7470',
      'a.example:7470',
    ]) {
      expect([no, a.accepts(no)]).toEqual([no, false]);
    }
  });

  it('wildcard ::, no public URL: interface addresses of both families', () => {
    const a = new GatewayAuthorities({ ...base, address: '::' });
    for (const ok of [
      '[fd00::2]:7470',
      '[FD00:0::2]:7470',
      '192.0.2.2:7470',
      '[::1]:7470',
      '[fe80::fc:ff:fe00:1]:7470',
    ]) {
      expect([ok, a.accepts(ok)]).toEqual([ok, true]);
    }
    expect(a.accepts('[::]:7470')).toBe(false);
  });

  it('an interface address that appears later is accepted (the list is read when needed)', () => {
    const list = ['127.0.0.1'];
    const a = new GatewayAuthorities({ ...base, address: '0.0.0.0', interfaceAddresses: () => list });
    expect(a.accepts('192.0.2.9:7470')).toBe(false);
    list.push('192.0.2.9');
    expect(a.accepts('192.0.2.9:7470')).toBe(true);
  });

  it('wildcard with a public URL: the public authority and the loopback names only', () => {
    const a = new GatewayAuthorities({ ...base, address: '::', publicUrl: 'https://b.example/' });
    for (const ok of ['b.example', 'b.example:443', 'localhost:7470', '127.0.0.1:7470', '[::1]:7470']) {
      expect([ok, a.accepts(ok)]).toEqual([ok, true]);
    }
    for (const no of ['192.0.2.2:7470', '[fd00::2]:7470', 'vm:7470', 'a.example', 'b.example:7470']) {
      expect([no, a.accepts(no)]).toEqual([no, false]);
    }
  });

  it('port elision follows each authority’s own scheme: http → 80, https → 443', () => {
    const http = new GatewayAuthorities({ ...base, address: '127.0.0.1', publicUrl: 'http://b.example' });
    expect(http.accepts('b.example')).toBe(true);
    expect(http.accepts('b.example:80')).toBe(true);
    expect(http.accepts('b.example:443')).toBe(false);
    const custom = new GatewayAuthorities({
      ...base,
      address: '127.0.0.1',
      publicUrl: 'https://b.example:8443',
    });
    expect(custom.accepts('b.example:8443')).toBe(true);
    expect(custom.accepts('b.example')).toBe(false);
    const on80 = new GatewayAuthorities({ ...base, address: '127.0.0.1', port: 80 });
    expect(on80.accepts('127.0.0.1')).toBe(true);
    expect(on80.accepts('127.0.0.1:80')).toBe(true);
    expect(on80.accepts('localhost')).toBe(true);
  });

  it('a name given as --host is one of its authorities', () => {
    const a = new GatewayAuthorities({ ...base, address: '127.0.0.1', hostOption: 'gw.lan' });
    expect(a.accepts('gw.lan:7470')).toBe(true);
    expect(a.accepts('127.0.0.1:7470')).toBe(true);
  });

  it('refuses what is not a host[:port] at all', () => {
    const a = new GatewayAuthorities({ ...base, address: '127.0.0.1' });
    for (const no of [
      undefined,
      '',
      ' ',
      '127.0.0.1:7470 ',
      '127.0.0.1:99999',
      '[::1',
      'a b',
      '127.0.0.1:7470:1',
    ]) {
      expect([no, a.accepts(no)]).toEqual([no, false]);
    }
  });
});
