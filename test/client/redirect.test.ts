import { describe, expect, it } from 'vitest';
import { isSameOrigin, redirectMethod, stripCredentialsOnCrossOrigin } from '../../src/client/redirect.js';

const CREDENTIALS = {
  Authorization: 'Bearer t',
  'proxy-authorization': 'Basic p',
  COOKIE: 'sid=1',
  'x-keep': 'yes',
};

describe('stripCredentialsOnCrossOrigin: the Fetch standard rule for a redirect hop', () => {
  it.each([
    ['another host', 'https://a.example/x', 'https://b.example/y'],
    ['another scheme', 'https://a.example/x', 'http://a.example/x'],
    ['another port', 'https://a.example/x', 'https://a.example:8443/x'],
    ['a subdomain (not the same origin either)', 'https://example.com/', 'https://api.example.com/'],
  ])('drops Authorization, Proxy-Authorization and Cookie on a hop to %s', (_name, from, to) => {
    expect(stripCredentialsOnCrossOrigin(CREDENTIALS, from, to)).toEqual({ 'x-keep': 'yes' });
  });

  it('keeps them on the same origin, a default port written out included', () => {
    expect(stripCredentialsOnCrossOrigin(CREDENTIALS, 'https://a.example/x', 'https://a.example:443/y')).toBe(
      CREDENTIALS,
    );
    expect(isSameOrigin('http://a.example/', 'http://A.EXAMPLE:80/z')).toBe(true);
  });

  it('keeps the kind of headers it was given: Headers, pairs, records with toJSON()', () => {
    const from = 'https://a.example/';
    const to = 'https://b.example/';
    const headers = stripCredentialsOnCrossOrigin(new Headers(CREDENTIALS), from, to);
    expect(headers).toBeInstanceOf(Headers);
    expect([...headers.keys()]).toEqual(['x-keep']);
    const pairs: Array<[string, string]> = [
      ['Cookie', 'a'],
      ['x-keep', 'yes'],
      ['cookie', 'b'],
    ];
    expect(stripCredentialsOnCrossOrigin(pairs, from, to)).toEqual([['x-keep', 'yes']]);
    const axiosLike = { toJSON: () => ({ ...CREDENTIALS }) };
    expect(stripCredentialsOnCrossOrigin(axiosLike, from, to)).toEqual({ 'x-keep': 'yes' });
    expect(stripCredentialsOnCrossOrigin(undefined, from, to)).toBeUndefined();
  });
});

describe('redirectMethod', () => {
  it('303 makes a bodiless GET of anything but HEAD; 301/302 only of POST; 307/308 keep all', () => {
    expect(redirectMethod(303, 'put')).toEqual({ method: 'GET', dropBody: true });
    expect(redirectMethod(303, 'HEAD')).toEqual({ method: 'HEAD', dropBody: false });
    expect(redirectMethod(302, 'POST')).toEqual({ method: 'GET', dropBody: true });
    expect(redirectMethod(301, 'PUT')).toEqual({ method: 'PUT', dropBody: false });
    expect(redirectMethod(307, 'POST')).toEqual({ method: 'POST', dropBody: false });
  });
});
