/**
 * The benchmark's target server, forked by bench/run.mjs so it has its own event loop.
 *
 *   GET  /1k      → 1 KiB body
 *   GET  /1m      → 1 MiB body
 *   POST /upload  → reads the body, answers `{"received":<bytes>}`
 *
 * IPC: sends `{ type: 'ready', port }`; answers `{ id, type: 'cpu' }` with its process.cpuUsage();
 * on `{ type: 'close' }` it closes the server and disconnects, so the process exits by itself.
 */
import http from 'node:http';

const BODIES = {
  '/1k': Buffer.alloc(1024, 'a'),
  '/1m': Buffer.alloc(1024 * 1024, 'b'),
};

const server = http.createServer({ keepAliveTimeout: 60_000, headersTimeout: 30_000 }, (req, res) => {
  if (req.method === 'POST' && req.url === '/upload') {
    let received = 0;
    req.on('data', (chunk) => {
      received += chunk.length;
    });
    req.on('end', () => {
      const body = Buffer.from(JSON.stringify({ received }));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
    return;
  }
  const body = req.method === 'GET' ? BODIES[req.url] : undefined;
  if (!body) {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    req.resume();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
});

server.listen(0, '127.0.0.1', () => {
  process.send({ type: 'ready', port: server.address().port });
});

process.on('message', (message) => {
  if (message.type === 'cpu') {
    process.send({ id: message.id, type: 'cpu', usage: process.cpuUsage() });
  } else if (message.type === 'close') {
    server.close(() => process.disconnect());
    server.closeAllConnections();
  }
});
// If the parent dies, do not linger.
process.on('disconnect', () => {
  server.close();
  server.closeAllConnections();
});
