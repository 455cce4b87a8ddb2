import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { selfSignedCert } from '../helpers/tls.js';

/**
 * An https target known only to the gateway's injected resolver: `target.test` → 127.0.0.1. The
 * system resolver cannot find that name, so a relay that succeeds proves the gateway dialed the
 * vetted address instead of looking the name up again, while TLS still used the name.
 */
let gw: TestGateway;
let server: https.Server;
let port: number;
const seen: Array<{
  servername: string | false | null;
  host: string | undefined;
  localAddress: string | undefined;
}> = [];
let lookups = 0;

beforeAll(async () => {
  const { key, cert: pem } = await selfSignedCert(['target.test', 'two.target.test']);
  server = https.createServer({ key, cert: pem }, (req, res) => {
    const socket = req.socket as TLSSocket;
    seen.push({ servername: socket.servername, host: req.headers.host, localAddress: socket.localAddress });
    res.end('secure hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  gw = await startTestGateway(undefined, {
    upstreamCa: pem,
    resolve: async (host) => {
      lookups += 1;
      if (host === 'target.test') return ['127.0.0.1'];
      // Nothing listens on 127.0.0.2: the first answer refuses, the second works.
      if (host === 'two.target.test') return ['127.0.0.2', '127.0.0.1'];
      throw new Error('ENOTFOUND');
    },
  });
});

afterAll(async () => {
  await gw?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

describe('the relay dials the vetted address and keeps the name for TLS', () => {
  it('sends SNI and Host as the name while connecting to the screened IP', async () => {
    const res = await gw.client().relay({ method: 'GET', url: `https://target.test:${port}/hello` });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('secure hello');
    expect(seen.at(-1)).toEqual({
      servername: 'target.test',
      host: `target.test:${port}`,
      localAddress: '127.0.0.1',
    });
  });

  it('refuses a target whose certificate does not match the name', async () => {
    // 127.0.0.1 as an IP literal: the certificate names target.test, so TLS verification fails.
    await expect(
      gw.client().relay({ method: 'GET', url: `https://127.0.0.1:${port}/hello` }),
    ).rejects.toMatchObject({
      code: 'upstream_tls_error',
    });
  });

  it('moves to the next vetted address when one refuses the connection', async () => {
    const res = await gw.client().relay({ method: 'GET', url: `https://two.target.test:${port}/fallback` });
    expect(res.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ servername: 'two.target.test', localAddress: '127.0.0.1' });
  });

  it('resolves each relay exactly once, so a rebinding name cannot swap the address after screening', async () => {
    const before = lookups;
    await gw.client().relay({ method: 'GET', url: `https://target.test:${port}/once` });
    expect(lookups - before).toBe(1);
  });
});
