import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished } from 'node:stream/promises';
import { SphyrNetworkError } from '../../errors.js';
import type { Caller } from '../authenticate.js';
import type { BodySpool } from '../body-spool.js';
import type { GatewayContext } from '../context.js';
import { forwardRequestHeaders, forwardResponseHeaders } from '../http-headers.js';
import type { LogDraft } from '../log-draft.js';
import { sendUpstream, type UpstreamAgents } from '../upstream.js';
import { parseTarget, vetTarget } from './target.js';

/**
 * `ANY /v1/relay`: screen, dial the vetted address, stream the target's answer back untouched
 * (redirects included: the client sends the next hop as a new, re-screened relay). The record is
 * committed before the last byte is released, so every finished response has its record.
 */
export async function handleRelay(
  ctx: GatewayContext,
  agents: UpstreamAgents,
  req: IncomingMessage,
  res: ServerResponse,
  caller: Caller,
  body: BodySpool,
  draft: LogDraft,
  requestId: string,
  commit: () => Promise<void>,
): Promise<void> {
  const method = req.method ?? 'GET';
  const url = parseTarget(req.headers['sphyr-target-uri'] as string | undefined, draft, ctx);
  const vetted = await vetTarget(ctx, draft, caller.key.id, method, url, body.prefix);
  draft.bytesIn = body.size;

  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  const upstream = await dialVetted(vetted.addresses, (address) =>
    sendUpstream({
      target: vetted.url,
      address,
      method,
      headers: forwardRequestHeaders(req.headers),
      body,
      headersTimeoutMs: ctx.limits.upstreamHeadersTimeoutMs,
      idleTimeoutMs: ctx.limits.upstreamIdleTimeoutMs,
      agents,
      signal: abort.signal,
    }),
  );
  draft.status = upstream.statusCode ?? 502;
  draft.outcome = 'allowed';
  draft.reason = vetted.reportReason ?? 'allowed';
  res.writeHead(draft.status, upstream.statusMessage, {
    ...forwardResponseHeaders(upstream.headers),
    'sphyr-request-id': requestId,
    'sphyr-outcome': 'allowed',
  });
  // The last chunk is held back until the record is committed: a caller that has the whole body
  // (say, all Content-Length bytes) must never be ahead of the log.
  let held: Buffer | undefined;
  upstream.on('data', (chunk: Buffer) => {
    draft.bytesOut += chunk.length;
    const previous = held;
    held = chunk;
    if (previous && !res.write(previous)) {
      upstream.pause();
      res.once('drain', () => upstream.resume());
    }
  });
  try {
    await finished(upstream);
  } catch (error) {
    // Headers are gone already: the caller sees a cut connection; the record says why.
    draft.outcome = 'error';
    draft.reason = abort.signal.aborted ? 'client_closed' : 'upstream_interrupted';
    res.destroy();
    await commit();
    if (!abort.signal.aborted) ctx.warn(`relay ${requestId}: ${url.host} broke off mid-response`);
    throw new HandledError(error);
  }
  await commit();
  res.end(held);
}

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * Try the vetted addresses in order, moving on only when a connection could not be made at all
 * (say, an AAAA answer on a host without IPv6): nothing was sent then, so a retry is safe.
 */
async function dialVetted<T>(addresses: string[], dial: (address: string) => Promise<T>): Promise<T> {
  let last: unknown;
  for (const address of addresses) {
    try {
      return await dial(address);
    } catch (error) {
      last = error;
      const code = (error as { cause?: NodeJS.ErrnoException }).cause?.code;
      if (!(error instanceof SphyrNetworkError) || !code || !CONNECT_FAILURES.has(code)) throw error;
    }
  }
  throw last;
}

/** Thrown after the response and its record are already dealt with; the caller only cleans up. */
export class HandledError extends SphyrNetworkError {
  constructor(cause: unknown) {
    super('handled', 'already answered', { cause });
  }
}
