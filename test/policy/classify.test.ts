import { describe, expect, it } from 'vitest';
import { SphyrConfigError, SphyrPolicyError } from '../../src/errors.js';
import { canonicalTargetUri, classifyForInstrumentation, type Route } from '../../src/policy/classify.js';

const GATEWAY = 'https://gateway.sphyr.test:7470';
const opts = { gatewayUrl: GATEWAY };

const CASES: [string, Route][] = [
  // Direct: the gateway itself, loopback by name, loopback and RFC 1918 IPv4 literals in any spelling.
  ['https://gateway.sphyr.test:7470/v1/relay', 'direct'],
  ['http://GATEWAY.sphyr.test:7470/', 'direct'],
  ['http://localhost:3000/', 'direct'],
  ['http://LOCALHOST/', 'direct'],
  ['http://[::1]:8080/', 'direct'],
  ['http://[0:0:0:0:0:0:0:1]/', 'direct'],
  ['http://127.0.0.1/', 'direct'],
  ['http://127.255.255.254/', 'direct'],
  ['http://0x7f.1/', 'direct'],
  ['http://2130706433/', 'direct'],
  ['http://127.1/', 'direct'],
  ['http://127.0.0.1./', 'direct'],
  ['http://10.1.2.3/', 'direct'],
  ['http://172.16.0.1/', 'direct'],
  ['http://172.31.255.255/', 'direct'],
  ['http://192.168.0.10/', 'direct'],
  // Instrument: metadata, everything outside the four ranges, every name, every IPv6 embedding.
  ['http://169.254.169.254/latest/meta-data/', 'instrument'],
  ['http://169.254.1.1/', 'instrument'],
  ['http://172.32.0.1/', 'instrument'],
  ['http://172.15.255.255/', 'instrument'],
  ['http://0.0.0.0/', 'instrument'],
  ['http://0/', 'instrument'],
  ['http://100.64.0.1/', 'instrument'],
  ['http://localhost./', 'instrument'],
  ['http://foo.localhost/', 'instrument'],
  ['http://127.0.0.1.nip.io/', 'instrument'],
  ['http://[::ffff:127.0.0.1]/', 'instrument'],
  ['http://[64:ff9b::7f00:1]/', 'instrument'],
  ['http://[::127.0.0.1]/', 'instrument'],
  ['http://[fe80::1]/', 'instrument'],
  ['https://api.openai.com/v1/responses', 'instrument'],
  ['https://8.8.8.8/', 'instrument'],
  ['https://gateway.sphyr.test/', 'instrument'],
  ['https://gateway.sphyr.test:7471/', 'instrument'],
  ['https://gateway.sphyr.test.evil.com:7470/', 'instrument'],
  ['https://gateway.sphyr.test:7470@evil.com/', 'instrument'],
  // Refuse: not http(s), or not a URL at all. Never "send raw".
  ['ftp://example.com/', 'refuse'],
  ['file:///etc/passwd', 'refuse'],
  ['gopher://127.0.0.1/', 'refuse'],
  ['data:text/plain,hi', 'refuse'],
  ['ws://localhost/', 'refuse'],
  ['not a url', 'refuse'],
  ['', 'refuse'],
  ['http://[fe80::1%25eth0]/', 'refuse'],
  ['http://425.510.425.510/', 'refuse'],
];

describe('classifyForInstrumentation', () => {
  it.each(CASES)('%s → %s', (url, route) => {
    expect(classifyForInstrumentation(url, opts)).toBe(route);
  });

  it('accepts URL objects and does not mutate them', () => {
    const u = new URL('http://127.0.0.1/#frag');
    expect(classifyForInstrumentation(u, opts)).toBe('direct');
    expect(u.href).toBe('http://127.0.0.1/#frag');
  });

  it('matches the gateway host with the default port folded away', () => {
    expect(
      classifyForInstrumentation('https://gw.example/x', { gatewayUrl: 'https://gw.example:443/' }),
    ).toBe('direct');
    expect(classifyForInstrumentation('http://gw.example:443/', { gatewayUrl: 'https://gw.example/' })).toBe(
      'instrument',
    );
  });

  it('sends directHosts direct, by exact canonical hostname', () => {
    const o = { ...opts, directHosts: ['DB.lan', '[fd00::5]'] };
    expect(classifyForInstrumentation('http://db.lan:5432/', o)).toBe('direct');
    expect(classifyForInstrumentation('http://[fd00::5]/', o)).toBe('direct');
    expect(classifyForInstrumentation('http://x.db.lan/', o)).toBe('instrument');
    expect(classifyForInstrumentation('http://db.lan./', o)).toBe('instrument');
    expect(classifyForInstrumentation('ftp://db.lan/', o)).toBe('refuse');
  });

  it('instrumentHosts wins over every direct rule but not over refuse', () => {
    const o = {
      ...opts,
      directHosts: ['db.lan'],
      instrumentHosts: ['127.0.0.1', 'localhost', 'db.lan', 'gateway.sphyr.test'],
    };
    expect(classifyForInstrumentation('http://127.0.0.1/', o)).toBe('instrument');
    expect(classifyForInstrumentation('http://0x7f.1/', o)).toBe('instrument');
    expect(classifyForInstrumentation('http://localhost/', o)).toBe('instrument');
    expect(classifyForInstrumentation('http://db.lan/', o)).toBe('instrument');
    expect(classifyForInstrumentation('https://gateway.sphyr.test:7470/', o)).toBe('instrument');
    expect(classifyForInstrumentation('http://127.0.0.2/', o)).toBe('direct');
    expect(classifyForInstrumentation('file:///x', o)).toBe('refuse');
  });

  it('throws a config error for a bad gateway URL', () => {
    expect(() => classifyForInstrumentation('http://x/', { gatewayUrl: 'nope' })).toThrow(SphyrConfigError);
    expect(() => classifyForInstrumentation('http://x/', { gatewayUrl: 'ftp://gw/' })).toThrow(/gateway URL/);
  });
});

describe('canonicalTargetUri', () => {
  it.each([
    ['HTTP://Example.COM:80/a?b=1#frag', 'http://example.com/a?b=1'],
    ['https://example.com:443/#', 'https://example.com/'],
    ['http://0x7f.1/x', 'http://127.0.0.1/x'],
    ['https://bücher.example/ä', 'https://xn--bcher-kva.example/%C3%A4'],
    ['http://gateway.sphyr.test:443\\@169.254.169.254/', 'http://gateway.sphyr.test:443/@169.254.169.254/'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalTargetUri(input)).toBe(expected);
  });

  it('does not mutate a URL argument', () => {
    const u = new URL('https://example.com/#x');
    expect(canonicalTargetUri(u)).toBe('https://example.com/');
    expect(u.hash).toBe('#x');
  });

  it.each([
    ['not a url', 'invalid_url'],
    ['ftp://example.com/', 'scheme_not_allowed'],
    ['javascript:alert(1)', 'scheme_not_allowed'],
  ])('%s throws SphyrPolicyError %s', (input, code) => {
    expect(() => canonicalTargetUri(input)).toThrow(SphyrPolicyError);
    expect(() => canonicalTargetUri(input)).toThrow(expect.objectContaining({ code }));
  });
});
