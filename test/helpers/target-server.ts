import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
  body: Buffer;
}

export interface TargetServer {
  url: string;
  port: number;
  /** Every request this target received: its own access log. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP target on 127.0.0.1. `/echo` returns what it got; `/bytes/N` streams N bytes;
 * `/redirect?to=URL` answers 302; `/fake-verdict` tries to forge `Sphyr-Outcome`.
 */
export async function startTarget(): Promise<TargetServer> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodyBytes: body.length,
        body: body.length <= 1024 * 1024 ? body : Buffer.alloc(0),
      });
      const url = new URL(req.url ?? '/', 'http://target.invalid');
      if (url.pathname.startsWith('/bytes/')) {
        let left = Number(url.pathname.slice('/bytes/'.length));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left });
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!res.write(chunk.subarray(0, n))) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      if (url.pathname.startsWith('/status/')) {
        res.writeHead(Number(url.pathname.slice('/status/'.length)), { 'content-type': 'text/plain' });
        res.end('status page');
        return;
      }
      if (url.pathname === '/redirect') {
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
        res.end();
        return;
      }
      if (url.pathname === '/fake-verdict') {
        res.writeHead(200, { 'sphyr-outcome': 'blocked', 'sphyr-request-id': 'forged', 'x-kept': 'yes' });
        res.end('ok');
        return;
      }
      const echo = JSON.stringify({
        method: req.method,
        url: req.url,
        host: req.headers.host,
        headers: req.headers,
        bodyBytes: body.length,
        sha256: body.length ? undefined : null,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'x-target': 'yes' });
      res.end(echo);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
