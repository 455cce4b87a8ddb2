import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientIp } from '../../src/gateway/client-ip.js';
import { parseCidr } from '../../src/policy/address.js';
import { startTestGateway } from '../helpers/gateway.js';

const req = (peer: string, xff?: string | string[]) =>
  ({
    socket: { remoteAddress: peer },
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  }) as unknown as IncomingMessage;
const trusted = ['10.0.0.0/8', '127.0.0.1/32'].map((r) => parseCidr(r));

describe('clientIp: the socket peer, or what a trusted proxy says', () => {
  it.each([
    ['no proxy trusted: the header is ignored', req('10.0.0.5', '203.0.113.7'), [], '10.0.0.5'],
    ['an untrusted peer cannot forge it', req('198.51.100.9', '203.0.113.7'), trusted, '198.51.100.9'],
    ['a trusted proxy names the client', req('10.0.0.5', '203.0.113.7'), trusted, '203.0.113.7'],
    [
      'a dual-stack peer (::ffff:127.0.0.1) is the trusted IPv4 proxy',
      req('::ffff:127.0.0.1', '203.0.113.7'),
      trusted,
      '203.0.113.7',
    ],
    [
      'walks right to left past trusted hops',
      req('10.0.0.5', '203.0.113.7, 10.1.1.1, 10.2.2.2'),
      trusted,
      '203.0.113.7',
    ],
    [
      'a spoofed left-most entry is not believed',
      req('10.0.0.5', '1.1.1.1, 203.0.113.7'),
      trusted,
      '203.0.113.7',
    ],
    [
      'garbage stops the walk at the last trusted hop',
      req('10.0.0.5', 'not-an-ip, 10.9.9.9'),
      trusted,
      '10.9.9.9',
    ],
    ['garbage alone leaves the proxy', req('10.0.0.5', 'evil'), trusted, '10.0.0.5'],
    ['several headers are one list', req('10.0.0.5', ['203.0.113.7', '10.1.1.1']), trusted, '203.0.113.7'],
    ['IPv6 clients are canonicalised', req('10.0.0.5', '2001:DB8::1'), trusted, '2001:db8::1'],
    ['no header: the proxy itself', req('10.0.0.5'), trusted, '10.0.0.5'],
  ])('%s', (_name, request, ranges, expected) => {
    expect(clientIp(request, ranges as ReturnType<typeof parseCidr>[])).toBe(expected);
  });

  it('is what the gateway records, only behind a trusted proxy', async () => {
    const open = await startTestGateway('{}', { adminPassword: 'x-x-x-x-x-x', trustProxy: ['127.0.0.1/32'] });
    const closed = await startTestGateway('{}', { adminPassword: 'x-x-x-x-x-x' });
    try {
      for (const [gw, expected] of [
        [open, '203.0.113.7'],
        [closed, '127.0.0.1'],
      ] as const) {
        const res = await fetch(`${gw.gateway.url}/oauth/device/code`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.7' },
          body: 'client_id=sphyr-cli',
        });
        const { user_code: userCode } = (await res.json()) as { user_code: string };
        const grant = await gw.gateway.store.getDeviceGrantByUserCode(userCode);
        expect(grant?.requesterIp.replace('::ffff:', '')).toBe(expected);
      }
    } finally {
      await open.close();
      await closed.close();
    }
  });
});
