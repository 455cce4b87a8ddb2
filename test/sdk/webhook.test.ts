import { describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/index.js';

// DESIGN §3.9: the secret is the 64 hex chars of bytes 0..31, used as ASCII.
const SECRET = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex');
const BODY = '{"type":"policy.blocked","id":"evt_01J9Z3"}';
const SIGNATURE = '9be5a7c3fbb989fafd4bbef18244c7e8933551d1b0f411254f9e780c5e5df1da';

describe('verifyWebhook', () => {
  it('accepts the DESIGN vector, as a string or as bytes, in either hex case', () => {
    expect(SECRET).toBe('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    expect(verifyWebhook(BODY, SIGNATURE, SECRET)).toBe(true);
    expect(verifyWebhook(Buffer.from(BODY), SIGNATURE, SECRET)).toBe(true);
    expect(verifyWebhook(BODY, SIGNATURE.toUpperCase(), SECRET)).toBe(true);
  });

  it.each([
    ['a changed body', `${BODY} `, SIGNATURE, SECRET],
    ['re-serialised JSON', JSON.stringify(JSON.parse(BODY), null, 1), SIGNATURE, SECRET],
    ['another secret', BODY, SIGNATURE, SECRET.replace('00', '01')],
    [
      'the hex-decoded key instead of ASCII',
      BODY,
      '93f254cefad18a9a29403849db2d8c45ad4934b50eadad2432314ac5dcc5cfff',
      SECRET,
    ],
    ['a truncated signature', BODY, SIGNATURE.slice(0, 63), SECRET],
    ['a sha256= prefix', BODY, `sha256=${SIGNATURE}`, SECRET],
    ['no signature', BODY, undefined, SECRET],
    ['a repeated header', BODY, [SIGNATURE, SIGNATURE], SECRET],
    ['an empty secret', BODY, SIGNATURE, ''],
  ])('rejects %s', (_name, body, signature, secret) => {
    expect(verifyWebhook(body, signature as string, secret)).toBe(false);
  });
});
