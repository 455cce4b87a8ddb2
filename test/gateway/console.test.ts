import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { type Credential, parseCredential } from '../../src/config/credential.js';
import { startGateway } from '../../src/gateway/server.js';
import { DEFAULT_POLICY } from '../../src/policy/index.js';
import { CONSOLE_PASSWORD, ConsoleBrowser, csrfOf, signIn } from '../helpers/console-browser.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';

const PASSWORD = CONSOLE_PASSWORD;
const CREDENTIAL_TEXT = /sphyr\.key_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}/;

async function signedIn(th: TestGateway): Promise<{ browser: ConsoleBrowser; csrf: string }> {
  const browser = new ConsoleBrowser(th.gateway.url);
  const res = await signIn(browser);
  expect(res.status).toBe(303);
  const session = await browser.api('GET', '/v1/console/session');
  const { csrfToken } = (await session.json()) as { csrfToken: string };
  return { browser, csrf: csrfToken };
}

/** A login request through the real OAuth endpoint, as `sphyr login` makes it. */
async function requestDeviceCode(th: TestGateway, deviceName = 'build-box') {
  const res = await fetch(`${th.gateway.url}/oauth/device/code`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'sphyr-cli/0.1.0 (linux)' },
    body: new URLSearchParams({
      client_id: 'sphyr-cli',
      scope: 'gateway',
      device_name: deviceName,
    }).toString(),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { device_code: string; user_code: string; verification_uri_complete: string };
}

function clientFor(th: TestGateway, credential: Credential): GatewayClient {
  return new GatewayClient({ gatewayUrl: th.gateway.url, credential, agent: { name: 'console-test' } });
}

const gateways: TestGateway[] = [];
async function gateway(options: Parameters<typeof startTestGateway>[1] = {}): Promise<TestGateway> {
  const th = await startTestGateway(undefined, { adminPassword: PASSWORD, ...options });
  gateways.push(th);
  return th;
}

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

describe('first admin', () => {
  it('is created once with a generated password that is stored only as a scrypt hash', async () => {
    const dataDir = await tempDir();
    const options = { host: '127.0.0.1', port: 0, dataDir, policy: DEFAULT_POLICY, warn: () => {} };
    try {
      const first = await startGateway(options);
      const generated = first.initialAdmin;
      expect(generated?.username).toBe('admin');
      expect(generated?.password).toMatch(/^[A-Za-z0-9_-]{20}$/);
      const admin = await first.store.getAdminByUsername('admin');
      expect(admin?.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
      await first.close();

      const files = (await readdir(dataDir)).filter((f) => f.startsWith('sphyr.db'));
      const raw = Buffer.concat(await Promise.all(files.map((f) => readFile(path.join(dataDir, f)))));
      expect(raw.includes(Buffer.from(generated?.password ?? 'x'))).toBe(false);

      const second = await startGateway(options);
      try {
        expect(second.initialAdmin).toBeUndefined();
        expect(await second.store.countAdmins()).toBe(1);
        const browser = new ConsoleBrowser(second.url);
        const res = await signIn(browser, generated?.password);
        expect(res.status).toBe(303);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('uses the given password and reports nothing', async () => {
    const th = await gateway();
    expect(th.gateway.initialAdmin).toBeUndefined();
    expect((await signIn(new ConsoleBrowser(th.gateway.url))).status).toBe(303);
  });
});

describe('the base URL', () => {
  it('sends a browser from / to the console, and signed out on to sign-in', async () => {
    const th = await gateway();
    const browser = new ConsoleBrowser(th.gateway.url);
    for (const target of ['/', '/?from=docs']) {
      const root = await browser.get(target);
      expect(root.status).toBe(303);
      expect(root.headers.get('location')).toBe('/console');
      expect(root.headers.get('content-security-policy')).toContain("default-src 'none'");
    }
    const head = await browser.request('HEAD', '/');
    expect([head.status, head.headers.get('location')]).toEqual([303, '/console']);
    const home = await browser.get('/console');
    expect([home.status, home.headers.get('location')]).toEqual([303, '/console/login?next=%2Fconsole']);
  });

  it('still answers agents that POST to / with the JSON not_found, and has no other page there', async () => {
    const th = await gateway();
    const post = await fetch(`${th.gateway.url}/`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(404);
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const other = await fetch(`${th.gateway.url}/index.html`, { redirect: 'manual' });
    expect(other.status).toBe(404);
  });
});

describe('sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie (no Secure on http) and serves strict headers', async () => {
    const th = await gateway();
    const browser = new ConsoleBrowser(th.gateway.url);
    const unsigned = await browser.get('/console');
    expect(unsigned.status).toBe(303);
    expect(unsigned.headers.get('location')).toBe('/console/login?next=%2Fconsole');

    const form = await browser.get('/console/login');
    expect(form.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(form.headers.get('x-content-type-options')).toBe('nosniff');
    expect(form.headers.get('referrer-policy')).toBe('same-origin');
    expect(form.headers.get('cache-control')).toBe('no-store');
    const html = await form.text();
    expect(html).toContain('<label for="password">');
    expect(html).not.toContain('<script');

    const res = await signIn(browser);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sphyr_session='));
    expect(cookie).toMatch(
      /^sphyr_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/,
    );

    const home = await browser.get('/console');
    expect(home.status).toBe(200);
    const homeHtml = await home.text();
    expect(homeHtml).toContain('Signed in as admin');
    expect(homeHtml).toContain('href="/console/keys"');
    expect(homeHtml).toContain('href="/device"');

    // Only the hash of the cookie value is stored.
    const id = cookie?.split(';')[0]?.split('=')[1] ?? '';
    expect(await th.gateway.store.getSession(id)).toBeUndefined();

    const css = await browser.get('/console/assets/console.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
  });

  it('marks the cookie Secure when the public URL is https', async () => {
    const th = await gateway({ publicUrl: 'https://sphyr.example.com' });
    const res = await signIn(new ConsoleBrowser(th.gateway.url));
    expect(res.status).toBe(303);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sphyr_session='));
    expect(cookie).toContain('; Secure');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
  });

  it('returns to a local next path and never to another site', async () => {
    const th = await gateway();
    for (const [next, expected] of [
      ['/console/keys', '/console/keys'],
      ['/device?user_code=BCDF-GHJK', '/device?user_code=BCDF-GHJK'],
      ['//evil.example/console', '/console'],
      ['https://evil.example/', '/console'],
      ['/\\evil.example', '/console'],
    ] as const) {
      const res = await signIn(new ConsoleBrowser(th.gateway.url), PASSWORD, next);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(expected);
    }
  });

  it('refuses a sign-in form without its CSRF cookie', async () => {
    const th = await gateway();
    const browser = new ConsoleBrowser(th.gateway.url);
    const html = await (await browser.get('/console/login')).text();
    const fresh = new ConsoleBrowser(th.gateway.url); // no sphyr_login_csrf cookie
    const res = await fresh.post('/console/login', {
      _csrf: csrfOf(html),
      username: 'admin',
      password: PASSWORD,
    });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('sphyr_session='))).toBe(false);
  });

  it('limits failed sign-ins and refuses even the right password until the window passes', async () => {
    let clock = Date.parse('2026-03-01T10:00:00Z');
    const th = await gateway({ now: () => clock });
    const browser = new ConsoleBrowser(th.gateway.url);
    for (let i = 0; i < 5; i += 1) {
      const res = await signIn(browser, `wrong-${i}`);
      expect(res.status).toBe(401);
      expect(await res.text()).toContain('Wrong username or password');
    }
    const limited = await signIn(browser, 'wrong-again');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.text()).toContain('Try again in');
    const right = await signIn(browser);
    expect(right.status).toBe(429);
    expect(right.headers.getSetCookie().some((c) => c.startsWith('sphyr_session='))).toBe(false);

    clock += 15 * 60 * 1000 + 1000;
    const later = await signIn(browser);
    expect(later.status).toBe(303);
  });

  it('counts an unknown username like a wrong password', async () => {
    const th = await gateway();
    const res = await signIn(new ConsoleBrowser(th.gateway.url), PASSWORD, undefined, 'nobody');
    expect(res.status).toBe(401);
  });

  it('expires the session after 12 hours and signs out on POST with CSRF', async () => {
    let clock = Date.parse('2026-03-01T10:00:00Z');
    const th = await gateway({ now: () => clock });
    const { browser, csrf } = await signedIn(th);
    expect((await browser.post('/console/logout', { _csrf: 'nope' })).status).toBe(403);
    expect((await browser.get('/console')).status).toBe(200);
    const out = await browser.post('/console/logout', { _csrf: csrf });
    expect(out.status).toBe(303);
    expect(browser.has('sphyr_session')).toBe(false);

    const again = await signedIn(th);
    expect((await again.browser.get('/console')).status).toBe(200);
    clock += 12 * 60 * 60 * 1000 + 1;
    expect((await again.browser.get('/console')).status).toBe(303);
    expect((await again.browser.api('GET', '/v1/console/session')).status).toBe(401);
  });
});

describe('CSRF', () => {
  it('refuses state changes without the right token or from another site, and changes nothing', async () => {
    const th = await gateway();
    const { browser, csrf } = await signedIn(th);
    const before = await th.gateway.store.listKeys();

    expect((await browser.post('/console/keys', { name: 'a' })).status).toBe(403);
    expect((await browser.post('/console/keys', { name: 'b', _csrf: `${csrf}x` })).status).toBe(403);
    const crossOrigin = await browser.post(
      '/console/keys',
      { name: 'c', _csrf: csrf },
      { origin: 'https://evil.example' },
    );
    expect(crossOrigin.status).toBe(403);
    const crossSite = await browser.post(
      '/console/keys',
      { name: 'd', _csrf: csrf },
      { 'sec-fetch-site': 'cross-site' },
    );
    expect(crossSite.status).toBe(403);
    const revoke = await browser.post(`/console/keys/${th.credential.keyId}/revoke`, { _csrf: '' });
    expect(revoke.status).toBe(403);

    const noHeader = await browser.api('POST', '/v1/console/keys', { name: 'e' });
    expect(noHeader.status).toBe(403);
    expect(((await noHeader.json()) as { error: { code: string } }).error.code).toBe('csrf_failed');
    const wrongHeader = await browser.api(
      'POST',
      '/v1/console/keys',
      { name: 'f' },
      { 'x-csrf-token': 'nope' },
    );
    expect(wrongHeader.status).toBe(403);
    const patch = await browser.api('PATCH', `/v1/console/keys/${th.credential.keyId}`, { name: 'g' });
    expect(patch.status).toBe(403);

    expect(await th.gateway.store.listKeys()).toEqual(before);
  });
});

describe('device approval', () => {
  it('shows what is being authorised, never approves on GET, and approves on a POST with CSRF', async () => {
    const th = await gateway();
    const login = await requestDeviceCode(th);
    const completePath =
      new URL(login.verification_uri_complete).pathname + new URL(login.verification_uri_complete).search;
    const browser = new ConsoleBrowser(th.gateway.url);

    const unsigned = await browser.get(completePath);
    expect(unsigned.status).toBe(303);
    const loginUrl = unsigned.headers.get('location') ?? '';
    expect(loginUrl).toBe(`/console/login?next=${encodeURIComponent(completePath)}`);
    const back = await signIn(browser, PASSWORD, completePath);
    expect(back.headers.get('location')).toBe(completePath);

    const confirm = await browser.get(completePath);
    expect(confirm.status).toBe(200);
    const html = await confirm.text();
    for (const fact of [
      login.user_code,
      'sphyr-cli',
      'gateway',
      'build-box',
      '127.0.0.1',
      'sphyr-cli/0.1.0 (linux)',
    ]) {
      expect(html).toContain(fact);
    }
    expect(html).toContain('Requested');
    expect(html).toContain('Expires');
    expect(html).toContain('value="approve"');
    expect(html).toContain('value="deny"');
    const grantAfterGet = await th.gateway.store.getDeviceGrantByUserCode(login.user_code);
    expect(grantAfterGet?.status).toBe('pending');

    const noCsrf = await browser.post('/device/decision', {
      user_code: login.user_code,
      decision: 'approve',
    });
    expect(noCsrf.status).toBe(403);
    expect((await th.gateway.store.getDeviceGrantByUserCode(login.user_code))?.status).toBe('pending');

    const approved = await browser.post('/device/decision', {
      _csrf: csrfOf(html),
      user_code: login.user_code,
      decision: 'approve',
    });
    expect(approved.status).toBe(200);
    const approvedHtml = await approved.text();
    expect(approvedHtml).toContain('may continue');
    expect(approvedHtml).not.toMatch(CREDENTIAL_TEXT);
    const grant = await th.gateway.store.getDeviceGrantByUserCode(login.user_code);
    expect(grant?.status).toBe('approved');
    const key = (await th.gateway.store.listKeys()).find((k) => k.id === grant?.keyId);
    expect(key?.name).toMatch(/^build-box/);

    // The credential travels only in the token response.
    const token = await fetch(`${th.gateway.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: login.device_code,
        client_id: 'sphyr-cli',
      }).toString(),
    });
    const tokenText = await token.text();
    const credential = CREDENTIAL_TEXT.exec(tokenText)?.[0];
    expect(credential).toBeDefined();
    expect(approvedHtml).not.toContain(credential);
    expect(await (await browser.get('/console/keys')).text()).not.toContain(credential?.split('.')[2]);

    // A decided code is no longer offered.
    const reused = await browser.get(completePath);
    expect(reused.status).toBe(404);
    expect(await reused.text()).toContain('not found or expired');
  });

  it('accepts a typed code in any case and denies on request', async () => {
    const th = await gateway();
    const login = await requestDeviceCode(th, 'laptop');
    const { browser, csrf } = await signedIn(th);
    const form = await browser.get('/device');
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('<label for="user_code">');
    const typed = login.user_code.toLowerCase().replace('-', ' ');
    const confirm = await browser.post('/device', { _csrf: csrf, user_code: typed });
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('laptop');
    const keysBefore = (await th.gateway.store.listKeys()).length;
    const denied = await browser.post('/device/decision', {
      _csrf: csrf,
      user_code: login.user_code,
      decision: 'deny',
    });
    expect(denied.status).toBe(200);
    expect(await denied.text()).toContain('denied');
    expect((await th.gateway.store.getDeviceGrantByUserCode(login.user_code))?.status).toBe('denied');
    expect((await th.gateway.store.listKeys()).length).toBe(keysBefore);
  });

  it('limits wrong codes, and then refuses even the right one', async () => {
    const th = await gateway();
    const login = await requestDeviceCode(th);
    const { browser, csrf } = await signedIn(th);
    const wrong = ['BBBB-BBBB', 'CCCC-CCCC', 'DDDD-DDDD', 'FFFF-FFFF', 'GGGG-GGGG', 'HHHH-HHHH']
      .filter((c) => c !== login.user_code)
      .slice(0, 5);
    // Something that cannot be a code is a typo, not a guess.
    expect((await browser.post('/device', { _csrf: csrf, user_code: 'AEIOU' })).status).toBe(400);
    for (const [i, code] of wrong.entries()) {
      // Typed codes and codes in links count alike.
      const res =
        i % 2 === 0
          ? await browser.post('/device', { _csrf: csrf, user_code: code })
          : await browser.get(`/device?user_code=${code}`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('not found or expired');
    }
    const limited = await browser.post('/device', { _csrf: csrf, user_code: 'JJJJ-JJJJ' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const right = await browser.get(`/device?user_code=${login.user_code}`);
    expect(right.status).toBe(429);
    const decide = await browser.post('/device/decision', {
      _csrf: csrf,
      user_code: login.user_code,
      decision: 'approve',
    });
    expect(decide.status).toBe(429);
    expect((await th.gateway.store.getDeviceGrantByUserCode(login.user_code))?.status).toBe('pending');
  });
});

describe('keys', () => {
  it('creates, renames, rotates and revokes through the pages; secrets show only once', async () => {
    const th = await gateway();
    const { browser, csrf } = await signedIn(th);

    const created = await browser.post('/console/keys', { _csrf: csrf, name: 'ci runner' });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const createdHtml = await created.text();
    expect(createdHtml).toContain('it is not shown again');
    const createdText = CREDENTIAL_TEXT.exec(createdHtml)?.[0] ?? '';
    const createdCredential = parseCredential(createdText, 'page');
    expect(await clientFor(th, createdCredential).agentId()).toMatch(/^agt_/);

    const renamed = await browser.post(`/console/keys/${createdCredential.keyId}/rename`, {
      _csrf: csrf,
      name: 'ci runner <eu>',
    });
    expect(renamed.status).toBe(303);
    expect(renamed.headers.get('location')).toBe('/console/keys?done=renamed');
    const listHtml = await (await browser.get('/console/keys')).text();
    expect(listHtml).toContain('ci runner &lt;eu&gt;');
    expect(listHtml).toContain(createdCredential.keyId);

    const rotated = await browser.post(`/console/keys/${createdCredential.keyId}/rotate`, { _csrf: csrf });
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const rotatedText = CREDENTIAL_TEXT.exec(await rotated.text())?.[0] ?? '';
    const rotatedCredential = parseCredential(rotatedText, 'page');
    expect(rotatedCredential.keyId).toBe(createdCredential.keyId);
    expect(rotatedText).not.toBe(createdText);
    await expect(clientFor(th, createdCredential).agentId()).rejects.toMatchObject({
      name: 'SphyrAuthError',
    });
    expect(await clientFor(th, rotatedCredential).agentId()).toMatch(/^agt_/);

    expect(await clientFor(th, th.credential).agentId()).toMatch(/^agt_/);
    const revoked = await browser.post(`/console/keys/${th.credential.keyId}/revoke`, { _csrf: csrf });
    expect(revoked.status).toBe(303);
    await expect(clientFor(th, th.credential).agentId()).rejects.toMatchObject({ code: 'key_revoked' });

    const after = await (await browser.get('/console/keys')).text();
    for (const secret of [createdText, rotatedText, th.credential.reveal()]) {
      expect(after).not.toContain(secret.split('.')[2]);
    }
    expect(after).not.toMatch(CREDENTIAL_TEXT);
    expect(after).toContain('revoked');
    expect(await (await browser.get('/console')).text()).not.toMatch(CREDENTIAL_TEXT);

    const missing = await browser.post('/console/keys/key_nope/revoke', { _csrf: csrf });
    expect(missing.status).toBe(404);
  });

  it('offers the same through the JSON API for scripts', async () => {
    const th = await gateway();
    expect((await new ConsoleBrowser(th.gateway.url).api('GET', '/v1/console/keys')).status).toBe(401);
    const { browser, csrf } = await signedIn(th);
    const session = (await (await browser.api('GET', '/v1/console/session')).json()) as Record<
      string,
      unknown
    >;
    expect(session.username).toBe('admin');
    const h = { 'x-csrf-token': csrf };

    const created = await browser.api('POST', '/v1/console/keys', { name: 'script' }, h);
    expect(created.status).toBe(201);
    const { key, credential } = (await created.json()) as {
      key: { id: string; name: string };
      credential: string;
    };
    expect(key.name).toBe('script');
    const first = parseCredential(credential, 'api');
    expect(first.keyId).toBe(key.id);

    const list = await browser.api('GET', '/v1/console/keys');
    const listText = await list.text();
    expect(listText).toContain(key.id);
    expect(listText).not.toContain(credential.split('.')[2]);
    expect(listText).not.toContain('credential');

    const patched = await browser.api('PATCH', `/v1/console/keys/${key.id}`, { name: 'renamed' }, h);
    expect(((await patched.json()) as { key: { name: string } }).key.name).toBe('renamed');
    const badName = await browser.api('PATCH', `/v1/console/keys/${key.id}`, { name: '  ' }, h);
    expect(badName.status).toBe(400);

    const rotated = await browser.api('POST', `/v1/console/keys/${key.id}/rotate`, undefined, h);
    const second = parseCredential(((await rotated.json()) as { credential: string }).credential, 'api');
    await expect(clientFor(th, first).agentId()).rejects.toMatchObject({ name: 'SphyrAuthError' });
    expect(await clientFor(th, second).agentId()).toMatch(/^agt_/);

    const revoked = await browser.api('POST', `/v1/console/keys/${key.id}/revoke`, undefined, h);
    expect(((await revoked.json()) as { key: { revokedAt: string | null } }).key.revokedAt).not.toBeNull();
    await expect(clientFor(th, second).agentId()).rejects.toMatchObject({ code: 'key_revoked' });
    const rotateRevoked = await browser.api('POST', `/v1/console/keys/${key.id}/rotate`, undefined, h);
    expect(rotateRevoked.status).toBe(409);
  });
});
