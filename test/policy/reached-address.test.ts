import { describe, expect, it } from 'vitest';
import { classifyAddress } from '../../src/policy/address.js';
import { screenTarget } from '../../src/policy/screen.js';

/**
 * Issue 11 item 1: an address is judged by what the socket reaches. An IPv6 spelling that carries an
 * IPv4 address (mapped, SIIT, IPv4-compatible, NAT64, 6to4, Teredo) is judged as written and as the
 * IPv4 it reaches; both must pass, and opening the IPv6 form never opens the IPv4 it reaches.
 */
const noDns = (host: string): Promise<string[]> => Promise.reject(new Error(`ENOTFOUND ${host}`));

describe('an IPv6 spelling is judged by the IPv4 address it reaches', () => {
  it.each([
    // The example: a mapped metadata address with the whole mapped range (or all of IPv6) opened.
    ['http://[::ffff:169.254.169.254]/', ['::ffff:0:0/96'], 'ssrf_metadata'],
    ['http://[::ffff:169.254.169.254]/', ['::/0'], 'ssrf_metadata'],
    ['http://[::ffff:a9fe:a9fe]/latest/meta-data/', ['::/0'], 'ssrf_metadata'],
    // Siblings: the same kind through every form whose dial target differs from its spelling.
    ['http://[::ffff:127.0.0.1]/', ['::ffff:0:0/96'], 'ssrf_loopback'],
    ['http://[::ffff:10.0.0.1]/', ['::/0'], 'ssrf_private'],
    ['http://[::ffff:0:a9fe:a9fe]/', ['::/0'], 'ssrf_metadata'],
    ['http://[::7f00:1]/', ['::/0'], 'ssrf_loopback'],
    ['http://[::169.254.169.254]/', ['::/96'], 'ssrf_metadata'],
    ['http://[64:ff9b::a9fe:a9fe]/', ['64:ff9b::/96'], 'ssrf_metadata'],
    ['http://[64:ff9b::a00:1]/', ['::/0'], 'ssrf_private'],
    ['http://[64:ff9b:1::a9fe:a9fe]/', ['64:ff9b:1::/48'], 'ssrf_metadata'],
    // Local-use NAT64 at /64 (RFC 6052 §2.2: bits 72–103), embedding 169.254.170.2 (ECS metadata).
    ['http://[64:ff9b:1:1:a9:feaa:200:0]/', ['::/0'], 'ssrf_metadata'],
    // …and at /48 (bits 48–63, then 72–87), embedding 169.254.169.254.
    ['http://[64:ff9b:1:a9fe:a9:fe00::]/', ['64:ff9b:1::/48'], 'ssrf_metadata'],
    ['http://[2002:a9fe:a9fe::1]/', ['2002::/16'], 'ssrf_metadata'],
    ['http://[2002:7f00:1::1]/', ['::/0'], 'ssrf_loopback'],
    // Teredo: server 65.54.227.120 (public), client ~3fff:fdd2 = 192.0.2.45 (documentation).
    ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', ['2001::/32'], 'ssrf_documentation'],
    // Teredo whose server part is the metadata address.
    ['http://[2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7]/', ['::/0'], 'ssrf_metadata'],
  ])('%s with unsafeAllowRanges %j → %s', async (url, allow, reason) => {
    const result = await screenTarget(url, { resolve: noDns, unsafeAllowRanges: allow });
    expect({ verdict: result.verdict, reason: result.reason }).toEqual({ verdict: 'block', reason });
  });

  it('a resolver answering with a mapped metadata address is blocked the same way', async () => {
    const resolve = async () => ['::ffff:a9fe:a9fe'];
    for (const allow of [['::ffff:0:0/96'], ['::/0'], ['::/0', '169.254.0.0/16']]) {
      const result = await screenTarget('https://mapped.example/', { resolve, unsafeAllowRanges: allow });
      expect(result).toMatchObject({ verdict: 'block', reason: 'ssrf_metadata' });
    }
  });

  it('metadata opens only when a range names exactly that IPv4 address', async () => {
    const open = await screenTarget('http://[::ffff:169.254.169.254]/', {
      resolve: noDns,
      unsafeAllowRanges: ['::ffff:0:0/96', '169.254.169.254/32'],
    });
    expect(open).toMatchObject({ verdict: 'allow', addresses: ['::ffff:a9fe:a9fe'] });
  });

  it('both spellings must be opened: the IPv4 range alone still refuses the IPv6 form', () => {
    expect(classifyAddress('::ffff:127.0.0.1', { allowRanges: ['127.0.0.0/8'] }).reason).toBe(
      'ssrf_ipv6_embedded',
    );
    expect(classifyAddress('::ffff:127.0.0.1', { allowRanges: ['127.0.0.0/8', '::ffff:0:0/96'] })).toEqual({
      public: true,
      reason: 'allowed_by_unsafe_range',
    });
  });

  it('the unspecified address reaches this host: judged as loopback too', () => {
    expect(classifyAddress('0.0.0.0', { allowRanges: ['0.0.0.0/8'] }).reason).toBe('ssrf_loopback');
    expect(classifyAddress('::', { allowRanges: ['::/128'] }).reason).toBe('ssrf_loopback');
    expect(classifyAddress('0.0.0.0', { allowRanges: ['0.0.0.0/0'] }).public).toBe(true);
  });

  it('a mapped public address is still an IPv4-in-IPv6 form unless opened', () => {
    expect(classifyAddress('::ffff:8.8.8.8').reason).toBe('ssrf_ipv6_embedded');
    expect(classifyAddress('::ffff:8.8.8.8', { allowRanges: ['::ffff:0:0/96'] }).public).toBe(true);
  });
});
