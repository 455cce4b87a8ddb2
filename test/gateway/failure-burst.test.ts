import { afterEach, describe, expect, it } from 'vitest';
import { CONSOLE_PASSWORD, ConsoleBrowser, csrfOf } from '../helpers/console-browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Issue 11 item 4 over real sockets: failure limits hold under concurrency. An attempt is counted
 * before it is evaluated (and refunded on success), so a burst never gets more than 5 guesses checked.
 */
const gateways: TestGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

async function loginForm(browser: ConsoleBrowser): Promise<string> {
  const page = await browser.get('/console/login');
  return csrfOf(await page.text());
}

describe('failure limits under a concurrent burst', () => {
  it('40 concurrent sign-ins, 39 wrong and the right one last: at most 5 checked, none signs in', async () => {
    const th = await startTestGateway(undefined, { adminPassword: CONSOLE_PASSWORD });
    gateways.push(th);
    // Each attempt is a separate browser (own login CSRF cookie), all from one address, as an attacker runs it.
    const browsers = Array.from({ length: 40 }, () => new ConsoleBrowser(th.gateway.url));
    const tokens = await Promise.all(browsers.map(loginForm));
    const results = await Promise.all(
      browsers.map((b, i) =>
        b.post('/console/login', {
          _csrf: tokens[i] as string,
          username: 'admin',
          password: i === 39 ? CONSOLE_PASSWORD : `wrong-${i}`,
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 303)).toEqual([]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(35);
  });

  it('a burst aimed at one user from many addresses is held by the per-user limit', async () => {
    const th = await startTestGateway(undefined, {
      adminPassword: CONSOLE_PASSWORD,
      trustProxy: ['127.0.0.0/8'],
    });
    gateways.push(th);
    const browsers = Array.from({ length: 20 }, () => new ConsoleBrowser(th.gateway.url));
    const tokens = await Promise.all(browsers.map(loginForm));
    const results = await Promise.all(
      browsers.map((b, i) =>
        b.post(
          '/console/login',
          { _csrf: tokens[i] as string, username: 'admin', password: i === 19 ? CONSOLE_PASSWORD : `w${i}` },
          { 'x-forwarded-for': `203.0.113.${i + 1}` },
        ),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 303)).toEqual([]);
  });

  it('a right password alone in a burst of right ones still signs in (success refunds the attempt)', async () => {
    const th = await startTestGateway(undefined, { adminPassword: CONSOLE_PASSWORD });
    gateways.push(th);
    const browsers = Array.from({ length: 12 }, () => new ConsoleBrowser(th.gateway.url));
    const tokens = await Promise.all(browsers.map(loginForm));
    const results = await Promise.all(
      browsers.map((b, i) =>
        b.post('/console/login', {
          _csrf: tokens[i] as string,
          username: 'admin',
          password: CONSOLE_PASSWORD,
        }),
      ),
    );
    // In-flight right attempts hold slots until they finish, so some may wait; none is a failure.
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toEqual([]);
    expect(statuses.filter((s) => s === 303).length).toBeGreaterThanOrEqual(5);
    const later = new ConsoleBrowser(th.gateway.url);
    const again = await later.post('/console/login', {
      _csrf: await loginForm(later),
      username: 'admin',
      password: CONSOLE_PASSWORD,
    });
    expect(again.status).toBe(303);
  });

  it('40 concurrent wrong user codes: at most 5 looked up', async () => {
    const th = await startTestGateway(undefined, { adminPassword: CONSOLE_PASSWORD });
    gateways.push(th);
    const browser = new ConsoleBrowser(th.gateway.url);
    const signedIn = await browser.post('/console/login', {
      _csrf: await loginForm(browser),
      username: 'admin',
      password: CONSOLE_PASSWORD,
    });
    expect(signedIn.status).toBe(303);
    const session = await browser.api('GET', '/v1/console/session');
    const { csrfToken } = (await session.json()) as { csrfToken: string };
    const letters = 'BCDFGHJKLMNPQRSTVWXZ';
    const codes = Array.from(
      { length: 40 },
      (_, i) => `${letters[i % 20]}${'B'.repeat(3)}-${letters[(i * 7) % 20]}BBB`,
    );
    const results = await Promise.all(
      codes.map((user_code) => browser.post('/device', { _csrf: csrfToken, user_code })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 404).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(35);
  });
});
