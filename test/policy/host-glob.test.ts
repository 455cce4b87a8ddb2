import { describe, expect, it } from 'vitest';
import { hostMatches, hostPatternProblem, normalizeHostPattern } from '../../src/policy/host-glob.js';

describe('hostMatches', () => {
  it.each([
    ['api.openai.com', 'api.openai.com', true],
    ['API.OpenAI.com', 'api.openai.com', true],
    ['api.openai.com', 'API.OPENAI.COM', true],
    ['api.openai.com.', 'api.openai.com', true],
    ['api.openai.com', 'openai.com', false],
    ['xapi.openai.com', 'api.openai.com', false],
    ['a.example.com', '*.example.com', true],
    ['a.b.c.example.com', '*.example.com', true],
    ['A.Example.COM.', '*.example.com', true],
    ['example.com', '*.example.com', false],
    ['badexample.com', '*.example.com', false],
    ['example.com.evil.net', '*.example.com', false],
    ['anything.at.all', '*', true],
    ['[::1]', '*', true],
    ['[::1]', '[::1]', true],
    ['[::1]', '::1', true],
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1', '127.0.0.*', false],
    ['api.example.com', 'api.*.com', false],
    ['a.example.com', '*.*.com', false],
    ['a+b.com', 'a+b.com', true],
    ['aab.com', 'a+b.com', false],
    ['aXb', 'a.b', false],
    ['', '*.example.com', false],
    // Matches (deny-safe); the SSRF screen refuses the empty label anyway.
    ['.example.com', '*.example.com', true],
  ])('%j vs %j → %s', (host, pattern, expected) => {
    expect(hostMatches(host, pattern)).toBe(expected);
  });
});

describe('hostPatternProblem', () => {
  it.each(['*', 'api.openai.com', '*.example.com', '127.0.0.1', '[::1]', 'EXAMPLE.com.'])(
    '%j is valid',
    (p) => {
      expect(hostPatternProblem(p)).toBeUndefined();
    },
  );

  it.each([
    ['api.*.com', 'only allowed as the whole pattern'],
    ['**.example.com', 'only allowed'],
    ['*', undefined],
    ['', 'names no host'],
    ['*.', 'names no host'],
    ['https://example.com', 'expected a hostname'],
    ['example.com:443', 'expected a hostname'],
    ['example.com/path', 'expected a hostname'],
    ['user@example.com', 'expected a hostname'],
  ])('%j → %s', (p, problem) => {
    if (problem === undefined) expect(hostPatternProblem(p)).toBeUndefined();
    else expect(hostPatternProblem(p)).toContain(problem);
  });
});

describe('normalizeHostPattern', () => {
  it.each([
    ['*', '*'],
    ['API.Example.COM', 'api.example.com'],
    ['*.Bücher.example', '*.xn--bcher-kva.example'],
    ['0x7f.1', '127.0.0.1'],
    ['[0:0::1]', '[::1]'],
  ])('%j → %j', (input, output) => {
    expect(normalizeHostPattern(input)).toBe(output);
  });

  it('a normalised IDN pattern matches the WHATWG hostname', () => {
    const host = new URL('https://straße.bücher.example/').hostname;
    expect(hostMatches(host, normalizeHostPattern('*.Bücher.example'))).toBe(true);
  });
});
