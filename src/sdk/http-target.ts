import type { RequestOptions } from 'node:http';

/** The URL an `http.request`/`https.request` call is for, from its calling forms. */
export function requestTarget(
  defaultProtocol: string,
  url: string | URL | RequestOptions,
  options: RequestOptions = {},
): URL {
  if (typeof url === 'string' || url instanceof URL) return new URL(url);
  const o = { ...url, ...options };
  const protocol = o.protocol ?? defaultProtocol;
  const host = o.hostname ?? o.host ?? 'localhost';
  const port = o.port ? `:${o.port}` : '';
  return new URL(
    `${protocol}//${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}${port}${o.path ?? '/'}`,
  );
}
