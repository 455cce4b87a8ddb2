import { describe, expect, it } from 'vitest';
import { createSelfCheck } from '../../src/gateway/self-address.js';

const PORT = 7470;
const ifaces = () => ['127.0.0.1', '::1', '10.1.2.3', 'fe80::1234', '2001:db8::7'];
const check = (address: string) => createSelfCheck(() => ({ address, port: PORT }), ifaces);

describe('isSelf: what reaches this listener, in any spelling', () => {
  it.each([
    '127.0.0.1',
    '127.0.0.2',
    '127.255.255.254',
    '::1',
    '::ffff:127.0.0.2',
    '::ffff:7f00:2',
    '0.0.0.0',
    '::',
    '10.1.2.3',
    '::ffff:10.1.2.3',
    'fe80::1234',
    '2001:db8::7',
  ])('wildcard bind 0.0.0.0: %s is self', (ip) => {
    expect(check('0.0.0.0')(ip, PORT)).toBe(true);
    expect(check('::')(ip, PORT)).toBe(true);
  });

  it.each(['127.0.0.9', '::1', '::ffff:127.0.0.1', '0.0.0.0'])('loopback bind: %s is self', (ip) => {
    expect(check('127.0.0.1')(ip, PORT)).toBe(true);
    expect(check('::1')(ip, PORT)).toBe(true);
  });

  it('a specific bind is self for its own address and what reaches this host', () => {
    expect(check('10.1.2.3')('10.1.2.3', PORT)).toBe(true);
    expect(check('10.1.2.3')('::ffff:a01:203', PORT)).toBe(true);
    expect(check('10.1.2.3')('127.0.0.1', PORT)).toBe(true);
  });

  it('other addresses and other ports are not self', () => {
    expect(check('0.0.0.0')('10.9.9.9', PORT)).toBe(false);
    expect(check('0.0.0.0')('93.184.215.14', PORT)).toBe(false);
    expect(check('127.0.0.1')('10.1.2.3', PORT)).toBe(false);
    expect(check('0.0.0.0')('127.0.0.1', PORT + 1)).toBe(false);
  });

  it('fails closed on an address it cannot read', () => {
    expect(check('0.0.0.0')('not-an-ip', PORT)).toBe(true);
  });
});

describe('the public URL names this gateway too', () => {
  it('a target on the public URL authority is ssrf_self before any lookup', async () => {
    const { screenTarget } = await import('../../src/policy/screen.js');
    const { selfUrls } = await import('../../src/gateway/self-address.js');
    let lookups = 0;
    const resolve = async () => {
      lookups++;
      return ['93.184.215.14'];
    };
    const opts = { resolve, selfUrls: selfUrls({ publicUrl: 'https://gw.example.test' }) };
    // Issue 11 review F1: the trailing-dot and upper-case spellings of the same authority too.
    for (const spelling of [
      'https://gw.example.test/v1/relay',
      'https://gw.example.test:443/',
      'https://gw.example.test./healthz',
      'https://GW.Example.TEST.:443/console/login',
    ]) {
      expect(await screenTarget(spelling, opts)).toMatchObject({ reason: 'ssrf_self' });
    }
    expect(await screenTarget('https://gw.example.test:8443/', opts)).toMatchObject({ reason: 'allowed' });
    expect(lookups).toBe(1);
  });
});
