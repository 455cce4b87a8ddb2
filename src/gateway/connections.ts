/**
 * @module Connection hygiene (issue 11 item 10): a socket the gateway gives up on is destroyed, not
 * half-closed (a stalled client never sends its FIN, so `end()` alone keeps the descriptor for good),
 * and open connections are capped overall and per peer address, the excess answered and closed.
 */

import http, { type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { SphyrRequestError } from '../errors.js';
import { newRequestId } from './ids.js';
import { refusalFor } from './refusal.js';

/** How long a refused or timed-out socket may take to flush its answer before it is destroyed. */
const FLUSH_GRACE_MS = 1_000;

/** Answers a raw socket with a JSON refusal, then destroys it whether or not the peer ever closes. */
export function answerAndDestroy(
  socket: Socket,
  error: SphyrRequestError,
  now: number,
  retryAfter?: number,
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const refusal = refusalFor(error);
  const body = JSON.stringify({
    error: { code: refusal.code, message: refusal.message, requestId: newRequestId(now) },
  });
  const timer = setTimeout(() => socket.destroy(), FLUSH_GRACE_MS);
  timer.unref();
  socket.end(
    `HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status]}\r\nContent-Type: application/json\r\n` +
      `Sphyr-Outcome: error\r\n${retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => {
      clearTimeout(timer);
      socket.destroy();
    },
  );
}

/** The HTTP answer for a malformed or too-slow request (the server's `clientError`). */
export function clientErrorFor(error: NodeJS.ErrnoException): SphyrRequestError {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return new SphyrRequestError('header_too_large', 'request headers are too large');
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_HEADERS_TIMEOUT') {
    return new SphyrRequestError('request_timeout', 'the request headers did not arrive in time');
  }
  return new SphyrRequestError('bad_request', 'malformed HTTP request');
}

export interface ConnectionCaps {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Peers exempt from the per-address cap (trusted reverse proxies carry many clients). */
  exempt(address: string): boolean;
  now(): number;
}

/**
 * Counts open connections and refuses those over a cap with 503 `too_many_connections`. Returns
 * the set of refused sockets, so the request handler can ignore a request that slipped in with them.
 */
export function capConnections(server: Server, caps: ConnectionCaps): WeakSet<Socket> {
  const refused = new WeakSet<Socket>();
  const perAddress = new Map<string, number>();
  let open = 0;
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const mine = (perAddress.get(address) ?? 0) + 1;
    const overAll = open + 1 > caps.maxConnections;
    const overAddress = mine > caps.maxConnectionsPerAddress && !caps.exempt(address);
    if (overAll || overAddress) {
      refused.add(socket);
      answerAndDestroy(
        socket,
        new SphyrRequestError(
          'too_many_connections',
          overAll
            ? 'the gateway has too many open connections; retry shortly'
            : 'too many open connections from this address; reuse connections or retry shortly',
        ),
        caps.now(),
        1,
      );
      return;
    }
    open += 1;
    perAddress.set(address, mine);
    socket.once('close', () => {
      open -= 1;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });
  return refused;
}

/**
 * A request body that stops arriving for `idleMs` ends its connection: the socket's idle timer runs
 * only while a body is still expected, and Node destroys a socket whose timeout nobody handles.
 * (Node's own keep-alive idle timer uses the same event and also ends in a destroy.)
 */
export function boundBodyIdle(server: Server, idleMs: number): void {
  server.on('request', (req: IncomingMessage) => {
    if (req.complete) return;
    const socket = req.socket;
    socket.setTimeout(idleMs);
    const stop = () => {
      if (!socket.destroyed) socket.setTimeout(0);
    };
    req.once('end', stop);
    req.once('close', stop);
  });
  server.on('timeout', (socket: Socket) => socket.destroy());
}
