/**
 * The benchmark's "bare proxy": the least a Node forwarder can do, as a floor for the gateway.
 *
 * It takes the same shape of request as `/v1/relay` (any path, the target in a `sphyr-target-uri`
 * header), but unsigned, and does none of Sphyr's work: no authentication, no screening, no policy,
 * no body spooling, no log record. It forwards the request to the target over a keep-alive
 * http.Agent (the gateway's pool settings), piping the body up and the response back, status and
 * headers copied (minus the few connection-specific ones).
 *
 * bench/run.mjs starts it in its own (the main) process, next to the gateway, so both are measured
 * on the same footing: same process, same event loop, same CPU accounting (process.cpuUsage()).
 */
import http from 'node:http';

/** Connection-specific fields: never forwarded by a proxy, in either direction. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'upgrade'];

function strip(headers) {
  for (const name of HOP_BY_HOP) delete headers[name];
  return headers;
}

/** Listen on `host`:0; resolves with `{ port, close() }`. `close()` ends every connection. */
export async function startBareProxy({ host = '127.0.0.1' } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' });

  const server = http.createServer({ keepAliveTimeout: 60_000, headersTimeout: 30_000 }, (req, res) => {
    const fail = (status) => {
      if (!res.headersSent) {
        res.writeHead(status, { 'content-length': 0 });
        res.end();
      } else {
        res.destroy();
      }
    };
    let target;
    try {
      target = new URL(req.headers['sphyr-target-uri']);
    } catch {
      req.resume();
      fail(400);
      return;
    }
    const headers = strip({ ...req.headers, host: target.host });
    delete headers['sphyr-target-uri'];
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port || 80,
        method: req.method,
        path: `${target.pathname}${target.search}`,
        headers,
        agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.statusMessage, strip({ ...up.headers }));
        up.pipe(res);
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => fail(502));
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return {
    port: server.address().port,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
