import { describe, expect, it } from 'vitest';
import { SphyrConfigError } from '../../src/errors.js';
import { classifyAddress, parseCidr } from '../../src/policy/address.js';
import { type ScreenReason, screenTarget } from '../../src/policy/screen.js';

/** A public address we pretend example names resolve to. */
const PUB4 = '93.184.215.14';
const PUB6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

/** Fake DNS: never real lookups. An Error value makes the resolver throw. */
const DNS: Record<string, string[] | Error> = {
  'example.com': [PUB4],
  'public.example': [PUB4, PUB6],
  'dupes.example': [PUB4, PUB4, '2606:4700:4700:0:0:0:0:1111'],
  'gateway.sphyr.test': [PUB4],
  'mixed.example': [PUB4, '10.0.0.5'],
  'mixed6.example': ['2606:4700::1', '::1'],
  'first-bad.example': ['8.8.8.8', '169.254.169.254', '127.0.0.1'],
  'mapped.example': ['::ffff:127.0.0.1'],
  'empty.example': [],
  'broken.example': new Error('ESERVFAIL'),
  'garbage.example': ['not-an-ip'],
  'inet-aton.example': ['127.1'],
  'zoned.example': ['2606:4700::1%eth0'],
  '127.0.0.1.nip.io': ['127.0.0.1'],
  'loop2.example': ['127.0.0.2'],
  'localhost.': ['127.0.0.1'],
  'localhost..': ['127.0.0.1'],
  'make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms': ['1.2.3.4', '169.254.169.254'],
};

function fakeResolve(host: string): Promise<string[]> {
  const answer = DNS[host];
  if (answer === undefined) return Promise.reject(new Error(`ENOTFOUND ${host}`));
  if (answer instanceof Error) return Promise.reject(answer);
  return Promise.resolve([...answer]);
}

interface Case {
  url: string;
  verdict: 'allow' | 'block';
  reason: ScreenReason;
  /** Expected vetted addresses when allowed. */
  addresses?: string[];
  allow?: string[];
  self?: (ip: string, port: number) => boolean;
  why?: string;
}

const allow = (url: string, addresses: string[], extra: Partial<Case> = {}): Case => ({
  url,
  verdict: 'allow',
  reason: 'allowed',
  addresses,
  why: '',
  ...extra,
});
const block = (url: string, reason: ScreenReason, extra: Partial<Case> = {}): Case => ({
  url,
  verdict: 'block',
  reason,
  why: '',
  ...extra,
});

const CASES: Case[] = [
  // Odd IPv4 spellings: WHATWG canonicalises all of them before we look.
  block('http://127.0.0.1/', 'ssrf_loopback'),
  block('http://2130706433/', 'ssrf_loopback', { why: 'decimal' }),
  block('http://0177.0.0.1/', 'ssrf_loopback', { why: 'octal' }),
  block('http://0x7f.1/', 'ssrf_loopback', { why: 'hex short form' }),
  block('http://127.1/', 'ssrf_loopback', { why: 'short form' }),
  block('http://127.0.0.1./', 'ssrf_loopback', { why: 'trailing dot' }),
  block('http://%31%32%37.0.0.1/', 'ssrf_loopback', { why: 'percent-encoded' }),
  block('http://１２７.０.０.１/', 'ssrf_loopback', { why: 'fullwidth digits' }),
  block('http://127.255.255.254:8080/', 'ssrf_loopback'),
  allow('http://010.0.0.1/', ['8.0.0.1'], { why: 'leading zero is octal: 8.0.0.1 is public' }),
  block('http://425.510.425.510/', 'invalid_url', { why: 'overflow throws in WHATWG' }),
  // IPv4 deny table.
  block('http://0/', 'ssrf_unspecified', { why: '0.0.0.0' }),
  block('http://0.1.2.3/', 'ssrf_this_network'),
  block('http://10.0.0.1/', 'ssrf_private'),
  block('http://172.16.0.1/', 'ssrf_private'),
  block('http://172.31.255.255/', 'ssrf_private'),
  allow('http://172.32.0.1/', ['172.32.0.1']),
  block('http://192.168.1.1/', 'ssrf_private'),
  block('http://100.64.0.1/', 'ssrf_cgnat'),
  block('http://100.127.255.255/', 'ssrf_cgnat'),
  allow('http://100.63.255.254/', ['100.63.255.254'], { why: 'just below CGNAT' }),
  allow('http://100.128.0.1/', ['100.128.0.1'], { why: 'just above CGNAT' }),
  block('http://169.254.1.1/', 'ssrf_link_local'),
  block('http://192.0.0.8/', 'ssrf_reserved'),
  block('http://192.0.2.1/', 'ssrf_documentation'),
  block('http://198.51.100.7/', 'ssrf_documentation'),
  block('http://203.0.113.9/', 'ssrf_documentation'),
  block('http://192.88.99.1/', 'ssrf_reserved'),
  block('http://198.18.0.1/', 'ssrf_benchmarking'),
  block('http://198.19.255.255/', 'ssrf_benchmarking'),
  block('http://224.0.0.1/', 'ssrf_multicast'),
  block('http://239.255.255.250/', 'ssrf_multicast'),
  block('http://240.0.0.1/', 'ssrf_reserved'),
  block('http://255.255.255.255/', 'ssrf_reserved'),
  allow('http://8.8.8.8/', ['8.8.8.8']),
  allow('https://1.1.1.1/dns-query', ['1.1.1.1']),
  // Cloud metadata, by address (own code even inside a denied range) and by name.
  block('http://169.254.169.254/latest/meta-data/', 'ssrf_metadata'),
  block('http://0xa9fea9fe/', 'ssrf_metadata', { why: 'hex metadata' }),
  block('http://2852039166/', 'ssrf_metadata', { why: 'decimal metadata' }),
  block('http://169.254.170.2/v2/credentials', 'ssrf_metadata'),
  block('http://168.63.129.16/', 'ssrf_metadata', { why: 'Azure WireServer looks public' }),
  block('http://100.100.100.200/', 'ssrf_metadata'),
  block('http://192.0.0.192/', 'ssrf_metadata'),
  block('http://[fd00:ec2::254]/', 'ssrf_metadata'),
  block('http://metadata/', 'ssrf_metadata'),
  block('http://metadata.google.internal/computeMetadata/v1/', 'ssrf_metadata'),
  block('http://METADATA.GOOGLE.INTERNAL./', 'ssrf_metadata'),
  block('http://instance-data/', 'ssrf_metadata'),
  // localhost is loopback by definition (RFC 6761 §6.3): judged as 127.0.0.1 and ::1, never resolved.
  block('http://localhost/', 'ssrf_loopback'),
  block('http://localhost./', 'ssrf_loopback'),
  block('http://foo.localhost/', 'ssrf_loopback'),
  block('http://LOCALHOST:8080/', 'ssrf_loopback', { why: 'case' }),
  // Other internal names: never resolved.
  block('http://db.internal/', 'ssrf_internal_name'),
  block('http://printer.local/', 'ssrf_internal_name'),
  block('http://nas.home.arpa/', 'ssrf_internal_name'),
  block('http://localhost../', 'invalid_url', { why: 'empty label after stripping one dot' }),
  // IPv6: only 2000::/3 minus holes; every IPv4 embedding blocked.
  block('http://[::1]/', 'ssrf_loopback'),
  block('http://[0000::1]/', 'ssrf_loopback'),
  block('http://[::]/', 'ssrf_unspecified'),
  block('http://[::ffff:169.254.169.254]/', 'ssrf_ipv6_embedded', { why: 'serialised ::ffff:a9fe:a9fe' }),
  block('http://[::ffff:a9fe:a9fe]/', 'ssrf_ipv6_embedded'),
  block('http://[::ffff:127.0.0.1]/', 'ssrf_ipv6_embedded'),
  block('http://[::ffff:0:a9fe:a9fe]/', 'ssrf_ipv6_embedded', { why: 'SIIT' }),
  block('http://[::7f00:1]/', 'ssrf_ipv6_embedded', { why: 'IPv4-compatible' }),
  block('http://[::127.0.0.1]/', 'ssrf_ipv6_embedded', { why: 'compat, dotted' }),
  block('http://[64:ff9b::a9fe:a9fe]/', 'ssrf_ipv6_embedded', { why: 'NAT64 metadata' }),
  block('http://[64:ff9b::808:808]/', 'ssrf_ipv6_embedded', { why: 'NAT64 even of a public IPv4' }),
  block('http://[64:ff9b:1::1]/', 'ssrf_ipv6_embedded', { why: 'local-use NAT64' }),
  block('http://[2002:a9fe:a9fe::1]/', 'ssrf_ipv6_embedded', { why: '6to4' }),
  block('http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'ssrf_ipv6_embedded', { why: 'Teredo' }),
  block('http://[64:ff9c::1]/', 'ssrf_reserved', { why: 'outside the NAT64 /96, but also outside 2000::/3' }),
  block('http://[2001:db8::1]/', 'ssrf_documentation'),
  block('http://[3fff::1]/', 'ssrf_documentation'),
  block('http://[2001:2::1]/', 'ssrf_benchmarking'),
  block('http://[2001:20::1]/', 'ssrf_reserved', { why: 'ORCHIDv2, inside 2001::/23' }),
  block('http://[5f00::1]/', 'ssrf_reserved', { why: 'SRv6' }),
  block('http://[fc00::1]/', 'ssrf_private'),
  block('http://[fd12:3456::1]/', 'ssrf_private'),
  block('http://[fe80::1]/', 'ssrf_link_local'),
  block('http://[fe80::1%25eth0]/', 'invalid_url', { why: 'zone IDs throw in WHATWG' }),
  block('http://[fec0::1]/', 'ssrf_reserved'),
  block('http://[ff02::2]/', 'ssrf_multicast'),
  block('http://[100::1]/', 'ssrf_reserved', { why: 'discard-only' }),
  block('http://[4000::1]/', 'ssrf_reserved', { why: 'outside 2000::/3' }),
  allow('http://[2606:4700:4700::1111]/', ['2606:4700:4700::1111']),
  allow('https://[2001:4860:4860::8888]:8443/', ['2001:4860:4860::8888']),
  // Userinfo and parser-confusion tricks.
  block('http://evil.com@169.254.169.254/', 'credentials_in_url'),
  block('http://user:pass@example.com/', 'credentials_in_url'),
  block('http://:secret@example.com/', 'credentials_in_url'),
  allow('http://gateway.sphyr.test:443\\@169.254.169.254/', [PUB4], {
    why: 'WHATWG host is the gateway name',
  }),
  block('http://gateway.sphyr.test:443\\@169.254.169.254/', 'ssrf_self', {
    self: (ip, port) => ip === PUB4 && port === 443,
  }),
  block('http:127.0.0.1/', 'ssrf_loopback', { why: 'missing slashes' }),
  block('http://169.254.169.254#@example.com/', 'ssrf_metadata'),
  allow('http://example.com#@169.254.169.254/', [PUB4]),
  block('http://127.0.0.1:80\\@example.com/', 'ssrf_loopback'),
  // Schemes: http and https only.
  block('file:///etc/passwd', 'scheme_not_allowed'),
  block('gopher://127.0.0.1:6379/_INFO', 'scheme_not_allowed'),
  block('ftp://example.com/', 'scheme_not_allowed'),
  block('data:text/plain,hello', 'scheme_not_allowed'),
  block('javascript:alert(1)', 'scheme_not_allowed'),
  block('jar:http://example.com/a.jar!/', 'scheme_not_allowed'),
  block('dict://127.0.0.1:11211/', 'scheme_not_allowed'),
  block('ws://example.com/', 'scheme_not_allowed'),
  block('not a url', 'invalid_url'),
  block('', 'invalid_url'),
  block('http://', 'invalid_url'),
  // DNS answers: every one must be public; the first failing answer is the reason.
  allow('https://public.example/', [PUB4, PUB6]),
  allow('https://dupes.example/', [PUB4, '2606:4700:4700::1111'], { why: 'deduplicated, canonical' }),
  block('https://mixed.example/', 'ssrf_private'),
  block('https://mixed6.example/', 'ssrf_loopback'),
  block('https://first-bad.example/', 'ssrf_metadata'),
  block('https://mapped.example/', 'ssrf_ipv6_embedded'),
  block('http://127.0.0.1.nip.io/', 'ssrf_loopback'),
  block('http://make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms/', 'ssrf_metadata'),
  block('https://empty.example/', 'dns_no_answer'),
  block('https://broken.example/', 'dns_error'),
  block('https://nxdomain.example/', 'dns_error'),
  block('https://garbage.example/', 'invalid_address'),
  block('https://inet-aton.example/', 'invalid_address', { why: 'resolver must return canonical IPs' }),
  block('https://zoned.example/', 'invalid_address', { why: 'zone on a global address' }),
  // unsafeAllowRanges narrows the deny list, strictly.
  allow('http://127.0.0.1:3000/', ['127.0.0.1'], { allow: ['127.0.0.0/8'] }),
  allow('http://loop2.example/', ['127.0.0.2'], { allow: ['127.0.0.0/8'] }),
  block('http://[::ffff:127.0.0.1]/', 'ssrf_ipv6_embedded', { allow: ['127.0.0.0/8'] }),
  block('http://169.254.169.254/', 'ssrf_metadata', { allow: ['127.0.0.0/8'] }),
  block('http://10.0.0.1/', 'ssrf_private', { allow: ['127.0.0.0/8'] }),
  // A range that opens loopback opens localhost the same way, and only the addresses it opens.
  allow('http://localhost:3000/', ['127.0.0.1'], { allow: ['127.0.0.0/8'] }),
  allow('http://localhost.:3000/', ['127.0.0.1'], { allow: ['127.0.0.0/8'], why: 'FQDN spelling' }),
  allow('http://api.localhost/', ['127.0.0.1'], { allow: ['127.0.0.0/8'], why: '*.localhost' }),
  allow('http://localhost/', ['::1'], { allow: ['::1/128'] }),
  allow('http://localhost/', ['127.0.0.1', '::1'], { allow: ['127.0.0.0/8', '::1/128'] }),
  block('http://localhost/', 'ssrf_loopback', { allow: ['10.0.0.0/8'], why: 'an unrelated range' }),
  block('http://localhost:7470/', 'ssrf_self', {
    allow: ['127.0.0.0/8'],
    self: (ip, port) => ip === '127.0.0.1' && port === 7470,
    why: 'the loop guard wins over the range',
  }),
  block('http://localhost:7470/', 'ssrf_self', {
    allow: ['127.0.0.0/8'],
    self: (ip, port) => ip === '::1' && port === 7470,
    why: 'even on the address the range leaves closed',
  }),
  block('http://db.internal/', 'ssrf_internal_name', { allow: ['127.0.0.0/8'], why: 'names stay denied' }),
  block('http://printer.local/', 'ssrf_internal_name', { allow: ['127.0.0.0/8', '10.0.0.0/8'] }),
  block('http://localhost.example/', 'dns_error', { allow: ['127.0.0.0/8'], why: 'not under .localhost' }),
  allow('http://169.254.1.1/', ['169.254.1.1'], { allow: ['169.254.0.0/16'] }),
  block('http://169.254.169.254/', 'ssrf_metadata', { allow: ['169.254.0.0/16'], why: 'needs an exact /32' }),
  allow('http://169.254.169.254/', ['169.254.169.254'], { allow: ['169.254.169.254/32'] }),
  block('http://127.0.0.1/', 'invalid_allow_range', { allow: ['127.0.0.1/8'] }),
  // Loop guard: the gateway's own listeners.
  block(`http://${PUB4}:7470/v1/relay`, 'ssrf_self', { self: (_ip, port) => port === 7470 }),
  allow(`http://${PUB4}/`, [PUB4], { self: (_ip, port) => port === 7470 }),
  block('https://example.com/', 'ssrf_self', { self: (ip, port) => ip === PUB4 && port === 443 }),
  block('https://example.com/', 'internal_error', {
    self: () => {
      throw new Error('boom');
    },
  }),
];

describe('screenTarget SSRF cases', () => {
  it('has a large table', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
  });

  it.each(CASES)('$url → $verdict $reason $why', async (c) => {
    const result = await screenTarget(c.url, {
      resolve: fakeResolve,
      ...(c.allow ? { unsafeAllowRanges: c.allow } : {}),
      ...(c.self ? { isSelf: c.self } : {}),
    });
    expect({ verdict: result.verdict, reason: result.reason }).toEqual({
      verdict: c.verdict,
      reason: c.reason,
    });
    if (c.verdict === 'allow') {
      expect(result.addresses).toEqual(c.addresses);
      expect(result.url).toBeInstanceOf(URL);
    }
  });
});

describe('screenTarget DNS rebinding', () => {
  it('resolves exactly once and returns the vetted addresses, not a later answer', async () => {
    let calls = 0;
    const rebinding = async (): Promise<string[]> => {
      calls++;
      return calls === 1 ? [PUB4] : ['127.0.0.1'];
    };
    const result = await screenTarget('https://rebind.example/', { resolve: rebinding });
    expect(calls).toBe(1);
    expect(result).toMatchObject({ verdict: 'allow', reason: 'allowed', addresses: [PUB4] });
    // A second lookup would now say 127.0.0.1; the caller must dial result.addresses instead.
    expect(await rebinding()).toEqual(['127.0.0.1']);
  });

  it('never resolves IP literals or denied names', async () => {
    let calls = 0;
    const counting = async (): Promise<string[]> => {
      calls++;
      return [PUB4];
    };
    await screenTarget('http://8.8.8.8/', { resolve: counting });
    await screenTarget('http://[2606:4700:4700::1111]/', { resolve: counting });
    await screenTarget('http://metadata.google.internal/', { resolve: counting });
    await screenTarget('http://foo.localhost/', { resolve: counting });
    await screenTarget('http://localhost:3000/', { resolve: counting, unsafeAllowRanges: ['127.0.0.0/8'] });
    expect(calls).toBe(0);
  });

  it('passes the URL port, or the scheme default, to isSelf', async () => {
    const seen: number[] = [];
    const isSelf = (_ip: string, port: number) => {
      seen.push(port);
      return false;
    };
    await screenTarget('http://8.8.8.8/', { resolve: fakeResolve, isSelf });
    await screenTarget('https://8.8.8.8/', { resolve: fakeResolve, isSelf });
    await screenTarget('https://8.8.8.8:8443/', { resolve: fakeResolve, isSelf });
    expect(seen).toEqual([80, 443, 8443]);
  });

  it('blocks instead of throwing on non-string input or a resolver returning junk', async () => {
    const junk = (async () => 'nope') as unknown as (host: string) => Promise<string[]>;
    expect(await screenTarget(42 as unknown as string, { resolve: fakeResolve })).toMatchObject({
      verdict: 'block',
      reason: 'invalid_url',
    });
    expect(await screenTarget('https://x.example/', { resolve: junk })).toMatchObject({
      verdict: 'block',
      reason: 'dns_error',
    });
  });
});

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', true, 'public'],
    ['2606:4700:4700::1111', true, 'public'],
    ['2606:4700:4700:0:0:0:0:1111', true, 'public'],
    ['0.0.0.0', false, 'ssrf_unspecified'],
    ['::', false, 'ssrf_unspecified'],
    ['::1.2.3.4', false, 'ssrf_ipv6_embedded'],
    ['FE80::1%eth0', false, 'ssrf_link_local'],
    ['0x7f.1', false, 'invalid_address'],
    ['127.1', false, 'invalid_address'],
    ['010.0.0.1', false, 'invalid_address'],
    ['[::1]', false, 'invalid_address'],
    ['example.com', false, 'invalid_address'],
    ['', false, 'invalid_address'],
  ])('%s → public=%s %s', (ip, isPublic, reason) => {
    expect(classifyAddress(ip)).toEqual({ public: isPublic, reason });
  });

  it('an IPv4 allow range never opens the IPv4-mapped IPv6 form', () => {
    const opts = { allowRanges: ['127.0.0.0/8'] };
    expect(classifyAddress('127.0.0.1', opts)).toEqual({ public: true, reason: 'allowed_by_unsafe_range' });
    expect(classifyAddress('::ffff:127.0.0.1', opts)).toEqual({
      public: false,
      reason: 'ssrf_ipv6_embedded',
    });
    expect(classifyAddress('::ffff:7f00:1', opts)).toEqual({ public: false, reason: 'ssrf_ipv6_embedded' });
  });

  it('IPv6 allow ranges work', () => {
    expect(classifyAddress('fd00::5', { allowRanges: ['fd00::/8'] })).toEqual({
      public: true,
      reason: 'allowed_by_unsafe_range',
    });
    expect(classifyAddress('fd00:ec2::254', { allowRanges: ['fd00::/8'] }).reason).toBe('ssrf_metadata');
  });

  it('throws SphyrConfigError for a bad allow range', () => {
    expect(() => classifyAddress('8.8.8.8', { allowRanges: ['nope'] })).toThrow(SphyrConfigError);
  });
});

describe('parseCidr', () => {
  it.each([
    ['127.0.0.0/8', '127.0.0.0/8'],
    ['10.1.2.3', '10.1.2.3/32'],
    ['FD00::/8', 'fd00::/8'],
    ['::1', '::1/128'],
    ['0.0.0.0/0', '0.0.0.0/0'],
  ])('accepts %s as %s', (text, canonical) => {
    expect(parseCidr(text).text).toBe(canonical);
  });

  it.each([
    ['127.0.0.1/8', 'host bits are set; did you mean "127.0.0.0/8"?'],
    ['10.0.0.0/33', 'prefix length must be a whole number from 0 to 32'],
    ['10.0.0.0/', 'prefix length'],
    ['10.0.0.0/8/8', 'more than one "/"'],
    ['0x7f.0.0.0/8', 'is not an IPv4 (dotted decimal) or IPv6 address'],
    ['fe80::%eth0/64', 'zone IDs are not allowed'],
    ['localhost', 'is not an IPv4'],
    ['', 'expected text like'],
    [' 10.0.0.0/8', 'is not an IPv4'],
  ])('rejects %j', (text, message) => {
    let caught: unknown;
    try {
      parseCidr(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SphyrConfigError);
    expect((caught as SphyrConfigError).code).toBe('invalid_cidr');
    expect((caught as SphyrConfigError).message).toContain(message);
  });
});
