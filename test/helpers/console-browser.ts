import { expect } from 'vitest';

/** The console's first admin password in tests (startTestGateway's `adminPassword`). */
export const CONSOLE_PASSWORD = 'correct horse battery staple';

/** A minimal browser: a cookie jar (name, path, Max-Age=0 deletes), no redirects followed. */
export class ConsoleBrowser {
  readonly #cookies = new Map<string, { value: string; path: string }>();
  readonly base: string;
  origin: string;

  constructor(base: string) {
    this.base = base;
    this.origin = base;
  }

  cookieHeader(urlPath: string): string {
    return [...this.#cookies]
      .filter(([, c]) => urlPath.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  has(name: string): boolean {
    return this.#cookies.has(name);
  }

  #store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const cookiePath = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      if (attrs.some((a) => a.toLowerCase() === 'max-age=0')) this.#cookies.delete(name);
      else this.#cookies.set(name, { value, path: cookiePath });
    }
  }

  async request(
    method: string,
    urlPath: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...init.headers };
    const cookie = this.cookieHeader(urlPath.split('?')[0] ?? urlPath);
    if (cookie) headers.cookie = cookie;
    const res = await fetch(`${this.base}${urlPath}`, {
      method,
      headers,
      body: init.body,
      redirect: 'manual',
    });
    this.#store(res);
    return res;
  }

  get(urlPath: string) {
    return this.request('GET', urlPath);
  }

  /** A form post the way a browser sends it from one of our pages: with its Origin. */
  post(urlPath: string, form: Record<string, string | string[]>, headers: Record<string, string> = {}) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(form))
      for (const one of [value].flat()) params.append(name, one);
    return this.request('POST', urlPath, {
      body: params.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin, ...headers },
    });
  }

  async json<T>(urlPath: string): Promise<T> {
    const res = await this.get(urlPath);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  }

  api(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}) {
    return this.request(method, urlPath, {
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    });
  }
}

export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no _csrf field in the page');
  return match[1];
}

export async function signIn(
  browser: ConsoleBrowser,
  password = CONSOLE_PASSWORD,
  next?: string,
  username = 'admin',
) {
  const page = await browser.get(`/console/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  expect(page.status).toBe(200);
  const html = await page.text();
  const fields: Record<string, string> = { _csrf: csrfOf(html), username, password };
  const nextField = /name="next" value="([^"]+)"/.exec(html)?.[1];
  if (nextField) fields.next = nextField.replaceAll('&amp;', '&');
  return browser.post('/console/login', fields);
}
