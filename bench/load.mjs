/**
 * The benchmark's load generator, forked by bench/run.mjs so the client has its own event loop.
 *
 * A closed-loop generator: `concurrency` workers each send one request, read the whole response,
 * and send the next, over keep-alive connections kept across runs (so sockets stay warm). All
 * three arms use the same code path:
 *   direct  the target itself, `METHOD /path`;
 *   bare    the bare proxy (bench/bare-proxy.mjs), `METHOD /v1/relay` + `sphyr-target-uri`, unsigned;
 *   relay   the gateway, the same request signed (fresh nonce, as the gateway refuses replays).
 * Signing is timed separately from the request latency, which runs from just after signing until
 * the last response byte.
 *
 * Two transports, chosen with BENCH_CLIENT:
 *   raw  (default) one net.Socket per worker, the request written as one latin1 string (+ body),
 *        the response framed by Content-Length. HTTP/1.1 keep-alive, no pipelining. About a third
 *        of node:http's client cost per request, so the direct arm is less limited by the client.
 *   http node:http with a keep-alive Agent, for a cross-check against a stock client.
 *
 * IPC (structured clone, `serialization: 'advanced'`):
 *   { type: 'init', gatewayPort, bareProxyPort, targetPort, keyId, secret, agentId } → { type: 'ready' }
 *   { id, type: 'run', arm, method, path, bodyBytes, expectBytes, concurrency, durationMs,
 *     maxRequests, record }                                                    → { id, type: 'result', … }
 *   { type: 'close' }: close every connection and disconnect, so the process exits by itself.
 */
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { contentDigest, signRequest } from '../dist/src/signing/index.js';

const HOST = '127.0.0.1';
const CLIENT = process.env.BENCH_CLIENT === 'http' ? 'http' : 'raw';
/** A run that has not finished this long after its deadline is cut off (its requests count as errors). */
const WATCHDOG_MS = 30_000;
const MAX_HEAD_BYTES = 64 * 1024;

let config;

// ---------------------------------------------------------------- raw transport

/** One keep-alive HTTP/1.1 connection carrying one request at a time. */
class RawConnection {
  #port;
  #socket;
  #pending;
  #head;
  #remaining = -1;
  #closeAfter = false;
  #result;

  constructor(port) {
    this.#port = port;
  }

  get port() {
    return this.#port;
  }

  #connect() {
    const socket = net.connect({ host: HOST, port: this.#port, noDelay: true });
    socket.on('data', (chunk) => {
      if (socket === this.#socket) this.#onData(chunk);
    });
    socket.on('error', (error) => {
      if (socket === this.#socket) this.#fail(`socket error: ${error.code ?? error.message}`);
    });
    socket.on('close', () => {
      if (socket === this.#socket) this.#fail('connection closed by the server');
    });
    this.#socket = socket;
  }

  /** Resolves with `{ status, outcome, bytes, errorBody }` or `{ error }`; never rejects. */
  send(head, body) {
    if (!this.#socket || this.#socket.destroyed) this.#connect();
    return new Promise((resolve) => {
      this.#pending = resolve;
      this.#head = undefined;
      this.#remaining = -1;
      this.#closeAfter = false;
      this.#result = { status: 0, outcome: undefined, bytes: 0, errorBody: '' };
      const socket = this.#socket;
      if (body) {
        socket.cork();
        socket.write(head, 'latin1');
        socket.write(body);
        socket.uncork();
      } else {
        socket.write(head, 'latin1');
      }
    });
  }

  #onData(chunk) {
    if (!this.#pending) {
      this.#drop();
      return;
    }
    let body = chunk;
    if (this.#remaining < 0) {
      const buffer = this.#head ? Buffer.concat([this.#head, chunk]) : chunk;
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffer.length > MAX_HEAD_BYTES) this.#fail('response head too large');
        else this.#head = buffer;
        return;
      }
      const problem = this.#parseHead(buffer.toString('latin1', 0, end));
      if (problem) {
        this.#fail(problem);
        return;
      }
      body = buffer.subarray(end + 4);
    }
    const result = this.#result;
    result.bytes += body.length;
    if (result.status !== 200 && result.errorBody.length < 300) result.errorBody += body.toString('utf8');
    this.#remaining -= body.length;
    if (this.#remaining < 0) {
      this.#fail('response longer than its Content-Length');
    } else if (this.#remaining === 0) {
      const resolve = this.#pending;
      this.#pending = undefined;
      if (this.#closeAfter) this.#drop();
      resolve(result);
    }
  }

  #parseHead(text) {
    const lines = text.split('\r\n');
    const status = Number(lines[0].slice(9, 12));
    if (!lines[0].startsWith('HTTP/1.') || !(status >= 200))
      return `bad status line "${lines[0].slice(0, 40)}"`;
    this.#result.status = status;
    let length = -1;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'sphyr-outcome') this.#result.outcome = value;
      else if (name === 'connection') this.#closeAfter = value.toLowerCase() === 'close';
      else if (name === 'transfer-encoding') return `unsupported transfer-encoding "${value}"`;
    }
    if (!Number.isSafeInteger(length) || length < 0) return `HTTP ${status} without a Content-Length`;
    this.#remaining = length;
    return undefined;
  }

  #fail(problem) {
    this.#drop();
    const resolve = this.#pending;
    this.#pending = undefined;
    resolve?.({ error: problem });
  }

  #drop() {
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.destroy();
  }

  close() {
    this.#fail('connection closed by the load generator');
  }
}

const raw = {
  pools: { direct: [], bare: [], relay: [] },
  send(arm, worker, request) {
    const pool = raw.pools[arm];
    if (pool[worker]?.port !== request.port) {
      pool[worker]?.close();
      pool[worker] = new RawConnection(request.port);
    }
    let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${HOST}:${request.port}\r\n`;
    for (const name in request.headers) head += `${name}: ${request.headers[name]}\r\n`;
    return pool[worker].send(`${head}\r\n`, request.body);
  },
  reset(arm) {
    for (const connection of raw.pools[arm]) connection?.close();
    raw.pools[arm] = [];
  },
};

// ---------------------------------------------------------------- node:http transport

const newAgent = () => new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });

const stock = {
  agents: { direct: newAgent(), bare: newAgent(), relay: newAgent() },
  send(arm, _worker, request) {
    return new Promise((resolve) => {
      const req = http.request(
        {
          host: HOST,
          port: request.port,
          method: request.method,
          path: request.path,
          headers: request.headers,
          agent: stock.agents[arm],
        },
        (res) => {
          const result = {
            status: res.statusCode,
            outcome: res.headers['sphyr-outcome'],
            bytes: 0,
            errorBody: '',
          };
          res.on('data', (chunk) => {
            result.bytes += chunk.length;
            if (result.status !== 200 && result.errorBody.length < 300)
              result.errorBody += chunk.toString('utf8');
          });
          res.on('end', () => resolve(result));
          res.on('error', (error) => resolve({ error: `response error: ${error.message}` }));
        },
      );
      req.on('error', (error) => resolve({ error: `request error: ${error.code ?? error.message}` }));
      req.end(request.body);
    });
  },
  reset(arm) {
    stock.agents[arm].destroy();
    stock.agents[arm] = newAgent();
  },
};

const transport = CLIENT === 'http' ? stock : raw;

// ---------------------------------------------------------------- the run

async function run(spec) {
  const relay = spec.arm === 'relay';
  const proxied = relay || spec.arm === 'bare';
  const port = { direct: config.targetPort, bare: config.bareProxyPort, relay: config.gatewayPort }[spec.arm];
  if (!port) throw new Error(`unknown arm "${spec.arm}"`);
  const body = spec.bodyBytes > 0 ? Buffer.alloc(spec.bodyBytes, 'x') : undefined;
  const targetUri = `http://${HOST}:${config.targetPort}${spec.path}`;
  const authority = `${HOST}:${config.gatewayPort}`;
  const plainHeaders = body
    ? { 'content-type': 'application/octet-stream', 'content-length': body.length }
    : {};
  // The bare proxy gets the relay's shape of request, minus the signature.
  const baseHeaders = spec.arm === 'bare' ? { ...plainHeaders, 'sphyr-target-uri': targetUri } : plainHeaders;
  const problemOf = (result) => {
    if (result.error) return result.error;
    let problem;
    if (result.status !== 200) problem = `HTTP ${result.status}`;
    else if (relay && result.outcome !== 'allowed') problem = `sphyr-outcome ${result.outcome}`;
    else if (result.bytes !== spec.expectBytes)
      problem = `got ${result.bytes} bytes, expected ${spec.expectBytes}`;
    return problem && result.errorBody ? `${problem}: ${result.errorBody.slice(0, 300)}` : problem;
  };

  const latencies = spec.record ? new Float64Array(spec.maxRequests) : undefined;
  let issued = 0;
  let ok = 0;
  let errors = 0;
  let firstError;
  let signMs = 0;
  let signed = 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const deadline = started + spec.durationMs;
  const watchdog = setTimeout(() => transport.reset(spec.arm), spec.durationMs + WATCHDOG_MS);

  const worker = async (index) => {
    while (issued < spec.maxRequests && performance.now() < deadline) {
      issued += 1;
      let headers = baseHeaders;
      if (relay) {
        const s0 = performance.now();
        // What a client does per relayed call: digest the body, sign with a fresh nonce.
        const digest = contentDigest(body ?? new Uint8Array());
        const sig = signRequest({
          kind: 'relay',
          facts: {
            method: spec.method,
            authority,
            path: '/v1/relay',
            query: '?',
            targetUri,
            contentDigest: digest,
            agentId: config.agentId,
          },
          keyId: config.keyId,
          key: config.secret,
          nowSeconds: Math.floor(Date.now() / 1000),
        });
        headers = {
          ...plainHeaders,
          'content-digest': digest,
          'signature-input': sig.signatureInput,
          signature: sig.signature,
          'sphyr-target-uri': targetUri,
          'sphyr-agent-id': config.agentId,
        };
        signMs += performance.now() - s0;
        signed += 1;
      }
      const request = {
        port,
        method: spec.method,
        path: proxied ? '/v1/relay' : spec.path,
        headers,
        body,
      };
      const t0 = performance.now();
      const result = await transport.send(spec.arm, index, request);
      const elapsed = performance.now() - t0;
      const problem = problemOf(result);
      if (problem) {
        errors += 1;
        firstError ??= problem;
      } else {
        if (latencies) latencies[ok] = elapsed;
        ok += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, index) => worker(index)));
  clearTimeout(watchdog);
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  return {
    ok,
    errors,
    firstError,
    elapsedMs,
    capped: issued >= spec.maxRequests,
    latencies: latencies ? latencies.slice(0, ok) : undefined,
    cpuMs: (cpu.user + cpu.system) / 1000,
    signUs: signed > 0 ? (signMs * 1000) / signed : 0,
  };
}

function closeAll() {
  for (const arm of ['direct', 'bare', 'relay']) {
    raw.reset(arm);
    stock.agents[arm].destroy();
  }
}

process.on('message', (message) => {
  if (message.type === 'init') {
    config = { ...message, secret: new Uint8Array(message.secret) };
    process.send({ type: 'ready', client: CLIENT });
  } else if (message.type === 'run') {
    run(message).then(
      (result) => process.send({ id: message.id, type: 'result', ...result }),
      (error) => process.send({ id: message.id, type: 'error', message: String(error?.stack ?? error) }),
    );
  } else if (message.type === 'close') {
    closeAll();
    process.disconnect();
  }
});
process.on('disconnect', closeAll);
