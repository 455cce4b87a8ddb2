/**
 * @module Reading a small request body (console forms, OAuth forms) with a size and a time bound.
 * What is left unread is never drained here: the request handler discards a bounded amount and
 * closes the connection, so a huge or trickling body costs the gateway little.
 */
import type { IncomingMessage } from 'node:http';

export class BodyTooLarge extends Error {}

export class BodyTimeout extends Error {}

/** The body sent or declared over `maxBytes` → BodyTooLarge; slower than `timeoutMs` → BodyTimeout. */
export function readBoundedBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (error) {
        req.pause();
        reject(error);
      } else resolve(Buffer.concat(chunks, total));
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) return finish(new BodyTooLarge());
      chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = (error: Error) => finish(error);
    const timer = setTimeout(() => finish(new BodyTimeout()), timeoutMs);
    timer.unref();
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
  });
}
