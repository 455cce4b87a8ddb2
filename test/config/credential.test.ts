import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateCredential, parseCredential } from '../../src/config/credential.js';
import { SphyrConfigError } from '../../src/errors.js';

const VECTOR = 'sphyr.key_live_7Qm2.fh86nH4fOpx-Hzqcfh86nH4fOpx-Hzqcfh86nH4fOpw';

describe('credential', () => {
  it('parses the DESIGN vector into its key id and raw 32-byte secret', () => {
    const c = parseCredential(VECTOR, 'SPHYR_CREDENTIAL');
    expect(c.keyId).toBe('key_live_7Qm2');
    expect(Buffer.from(c.secret).toString('hex')).toBe('7e1f3a9c'.repeat(8));
    expect(c.reveal()).toBe(VECTOR);
  });

  it('never shows the secret in String(), JSON or inspect', () => {
    const c = parseCredential(VECTOR, 'x');
    for (const text of [String(c), JSON.stringify({ c }), inspect(c), `${c}`]) {
      expect(text).not.toContain('fh86nH4f');
      expect(text).toContain('key_live_7Qm2');
    }
  });

  it.each([
    ['', 'three dot-separated parts'],
    ['sphyr.key', 'three dot-separated parts'],
    ['bearer.key.secret', 'three dot-separated parts'],
    ['sphyr.key id.fh86nH4fOpx-Hzqcfh86nH4fOpx-Hzqcfh86nH4fOpw', 'key id'],
    ['sphyr.key.fh86nH4f=Opx', 'base64url'],
    ['sphyr.key.c2hvcnQ', 'decodes to 5 bytes'],
  ])('rejects %j with a message naming the source and the problem', (text, problem) => {
    const error = (() => {
      try {
        parseCredential(text, '/home/u/.sphyr/config.json ("credential")');
      } catch (e) {
        return e as SphyrConfigError;
      }
      throw new Error('no error');
    })();
    expect(error).toBeInstanceOf(SphyrConfigError);
    expect(error.code).toBe('credential_malformed');
    expect(error.message).toContain('/home/u/.sphyr/config.json ("credential")');
    expect(error.message).toContain(problem);
    if (text.length > 20) expect(error.message).not.toContain(text.split('.')[2]);
  });

  it('generates distinct 32-byte secrets that round-trip', () => {
    const a = generateCredential('key_a');
    const b = generateCredential('key_a');
    expect(a.secret).toHaveLength(32);
    expect(a.reveal()).not.toBe(b.reveal());
    expect(Buffer.from(parseCredential(a.reveal(), 'x').secret).equals(Buffer.from(a.secret))).toBe(true);
  });
});
