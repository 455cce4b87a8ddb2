import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { type SignedCallKind, signRequest } from '../../src/signing/index.js';

const CHUNK_BYTES = 1024 * 1024;
const FILL = 0x62;

/** `Content-Digest` of `bytes` bytes of the upload fill pattern (computed in 1 MiB steps). */
export function fillDigest(bytes: number): string {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(CHUNK_BYTES, FILL);
  for (let left = bytes; left > 0; left -= CHUNK_BYTES)
    hash.update(chunk.subarray(0, Math.min(left, CHUNK_BYTES)));
  return `sha-256=:${hash.digest('base64')}:`;
}

export interface SignFor {
  gatewayUrl: string;
  kind: SignedCallKind;
  method?: string;
  path: string;
  keyId: string;
  key: Uint8Array;
  digest: string;
  agentId?: string;
  target?: string;
  /** Sign for this `@authority` (and send it as `Host`) instead of the URL's. */
  authority?: string;
  nowSeconds?: number;
  lifetimeSeconds?: number;
}

/** The headers of one signed gateway request, built by hand so a test can sign anything. */
export function signedHeaders(s: SignFor): Record<string, string> {
  const url = new URL(s.path, s.gatewayUrl);
  const authority = s.authority ?? url.host;
  const signed = signRequest({
    kind: s.kind,
    facts: {
      method: s.method ?? 'POST',
      authority,
      path: url.pathname,
      query: url.search || '?',
      targetUri: s.kind === 'relay' ? s.target : undefined,
      contentDigest: s.digest,
      agentId: s.kind === 'register' ? undefined : s.agentId,
    },
    keyId: s.keyId,
    key: s.key,
    nowSeconds: s.nowSeconds ?? Math.floor(Date.now() / 1000),
    lifetimeSeconds: s.lifetimeSeconds,
  });
  const headers: Record<string, string> = {
    host: authority,
    'content-digest': s.digest,
    'signature-input': signed.signatureInput,
    signature: signed.signature,
  };
  if (s.kind === 'relay' && s.target) headers['sphyr-target-uri'] = s.target;
  if (s.kind !== 'register' && s.agentId) headers['sphyr-agent-id'] = s.agentId;
  return headers;
}

export interface RawUpload {
  gatewayUrl: string;
  path: string;
  method?: string;
  headers: Record<string, string>;
  /** Body size; the body is that many 0x62 bytes (see `fillDigest`). */
  bodyBytes: number;
  /** Send `Transfer-Encoding: chunked` instead of `Content-Length`. */
  chunked?: boolean;
  /** Called after each 1 MiB chunk is accepted by the socket; awaiting it pauses the upload. */
  onProgress?: (sent: number) => Promise<void> | void;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** `error.code` of a JSON refusal. */
  code: string | undefined;
  /** Body bytes the socket took before the upload ended or the gateway closed the connection. */
  sentBytes: number;
  /** Body bytes sent when the answer arrived: below the body size means it came before the body. */
  answeredAtBytes: number;
}

/**
 * Upload a body over a fresh keep-alive connection (as fetch and the SDK use) with node:http,
 * honouring backpressure, and keep sending after an early answer (the gateway may refuse before
 * reading the body). Resolves with the answer once the whole body was written, or once the
 * connection closed after the answer.
 */
export function rawUpload(r: RawUpload): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(r.path, r.gatewayUrl);
    const headers: Record<string, string | number> = { ...r.headers };
    if (!r.chunked) headers['content-length'] = r.bodyBytes;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const req = http.request({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: url.pathname + url.search,
      method: r.method ?? 'POST',
      headers,
      agent,
    });
    let sent = 0;
    let answer: Omit<RawResponse, 'sentBytes'> | undefined;
    let answering = false;
    let uploaded = false;
    let closed = false;
    let failed: Error | undefined;
    const settle = () => {
      if (answer && (uploaded || closed || failed)) {
        agent.destroy();
        resolve({ ...answer, sentBytes: sent });
      }
      // An error after the answer began is the gateway closing a connection whose body it will
      // not read: wait for the answer to complete.
      else if (failed && !answering) {
        agent.destroy();
        reject(failed);
      }
    };
    req.once('error', (error) => {
      failed = error;
      settle();
    });
    req.once('close', () => {
      closed = true;
      settle();
    });
    req.once('response', (res) => {
      answering = true;
      const answeredAtBytes = sent;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.once('close', () => {
        if (answer) return;
        answering = false;
        failed ??= new Error('the answer was cut off');
        settle();
      });
      res.once('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        answer = { status: res.statusCode ?? 0, headers: res.headers, body, code, answeredAtBytes };
        settle();
      });
    });
    const chunk = Buffer.alloc(CHUNK_BYTES, FILL);
    void (async () => {
      while (sent < r.bodyBytes) {
        const n = Math.min(CHUNK_BYTES, r.bodyBytes - sent);
        const flushed = req.write(chunk.subarray(0, n));
        if (!flushed) {
          // The socket's own drain too: node:http stops relaying it to the request once an
          // early answer has ended.
          await new Promise<void>((done) => {
            const socket = req.socket;
            const go = () => {
              socket?.off('drain', go);
              req.off('drain', go);
              req.off('close', go);
              done();
            };
            socket?.once('drain', go);
            req.once('drain', go);
            req.once('close', go);
          });
        }
        if (req.destroyed) return;
        sent += n;
        await r.onProgress?.(sent);
      }
      req.end(() => {
        uploaded = true;
        settle();
      });
    })().catch(reject);
  });
}

/** Total bytes of the files directly in `dir` (files that vanish mid-listing count as 0). */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    total += await stat(path.join(dir, name)).then(
      (s) => s.size,
      () => 0,
    );
  }
  return total;
}

/** Samples `dir`'s total size every few milliseconds until stopped; `max` is the largest seen. */
export function watchDirBytes(dir: string): { max(): number; stop(): Promise<number> } {
  let max = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      max = Math.max(max, await dirBytes(dir));
      await new Promise((r) => setTimeout(r, 5));
    }
    max = Math.max(max, await dirBytes(dir));
  })();
  return {
    max: () => max,
    async stop() {
      running = false;
      await loop;
      return max;
    },
  };
}

/** Peak resident memory of a process so far, from Linux's /proc (VmHWM), in MiB. */
export async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}
