import { describe, expect, it } from 'vitest';
import { ENTROPY_BODY_PREFIX_BYTES, entropyScore, requestEntropy } from '../../src/policy/entropy.js';

const bytes = (...values: number[]) => new Uint8Array(values);

describe('entropyScore', () => {
  it.each([
    ['', 0],
    ['aaaa', 0],
    ['ab', 1],
    ['abcd', 2],
    ['aabb', 1],
    ['01234567', 3],
  ])('%j → %d bits/char', (text, bits) => {
    expect(entropyScore(text)).toBeCloseTo(bits, 10);
  });

  it('counts code points, not UTF-16 units', () => {
    expect(entropyScore('😀😀')).toBe(0);
    expect(entropyScore('😀a')).toBeCloseTo(1, 10);
  });

  it('scores bytes per byte', () => {
    expect(entropyScore(new Uint8Array(0))).toBe(0);
    expect(entropyScore(bytes(7, 7, 7))).toBe(0);
    expect(entropyScore(bytes(0, 255))).toBeCloseTo(1, 10);
    const all = new Uint8Array(256).map((_, i) => i);
    expect(entropyScore(all)).toBeCloseTo(8, 10);
  });

  it('random-looking data scores higher than prose', () => {
    const prose = 'the quick brown fox jumps over the lazy dog the quick brown fox';
    const token = 'q8Zr2_Kx0vLw9PbTn4YhUeAj7mCs1GdF5oRiXz3kWyQ6tHlVcBpN-MaES';
    expect(entropyScore(token)).toBeGreaterThan(entropyScore(prose));
  });
});

describe('requestEntropy', () => {
  it('scores path and query only, rounded to 3 decimals', () => {
    expect(requestEntropy(new URL('https://a.example/aaaa'))).toBe(0.722);
    expect(requestEntropy(new URL('https://another-host.example/aaaa'))).toBe(0.722);
    expect(requestEntropy(new URL('https://a.example/aaaa#ignored-fragment'))).toBe(0.722);
    expect(requestEntropy(new URL('https://a.example/?ab'))).toBe(2);
    expect(requestEntropy(new URL('https://a.example/aab'))).toBe(1.5);
  });

  it('adds the body prefix', () => {
    const url = new URL('https://a.example/a');
    expect(requestEntropy(url, new TextEncoder().encode('/a'))).toBe(1);
    expect(requestEntropy(url, new Uint8Array(0))).toBe(1);
  });

  it(`reads at most ${ENTROPY_BODY_PREFIX_BYTES} body bytes`, () => {
    expect(ENTROPY_BODY_PREFIX_BYTES).toBe(4096);
    const url = new URL('https://a.example/');
    const body = new Uint8Array(ENTROPY_BODY_PREFIX_BYTES + 256).fill(47); // '/' like the path
    body.set(
      new Uint8Array(256).map((_, i) => i),
      ENTROPY_BODY_PREFIX_BYTES,
    );
    expect(requestEntropy(url, body)).toBe(0);
    expect(requestEntropy(url, body.subarray(0, ENTROPY_BODY_PREFIX_BYTES + 1))).toBe(0);
  });
});
