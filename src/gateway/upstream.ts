import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { SphyrNetworkError } from '../errors.js';
import type { BodySpool } from './body-spool.js';

/** Keep-alive pools for targets. Pools are keyed by the dialed IP and SNI name, never by DNS. */
export interface UpstreamAgents {
  http: http.Agent;
  https: https.Agent;
  destroy(): void;
}

/** `extraCa` adds trusted roots (an internal CA) to Node's bundled ones; it never replaces them. */
export function createUpstreamAgents(extraCa?: string): UpstreamAgents {
  const options = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' as const };
  const ca = extraCa ? [...tls.rootCertificates, extraCa] : undefined;
  const agents = { http: new http.Agent(options), https: new https.Agent({ ...options, ca }) };
  return {
    ...agents,
    destroy() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

export interface UpstreamRequest {
  target: URL;
  /** The vetted address to dial: the name is never resolved again (DNS-rebinding defence). */
  address: string;
  method: string;
  headers: OutgoingHttpHeaders;
  body: BodySpool;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  agents: UpstreamAgents;
  /** Aborted when the caller goes away. */
  signal: AbortSignal;
}

/** Send the request to the pinned address; resolves with the target's response (not followed). */
export function sendUpstream(r: UpstreamRequest): Promise<IncomingMessage> {
  const secure = r.target.protocol === 'https:';
  const hostname = r.target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(r.target.port) || (secure ? 443 : 80);
  const headers: OutgoingHttpHeaders = { ...r.headers, host: r.target.host };
  if (r.body.size > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(r.method)) {
    headers['content-length'] = r.body.size;
  }
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      host: r.address,
      port,
      method: r.method,
      path: `${r.target.pathname}${r.target.search}`,
      headers,
      agent: secure ? r.agents.https : r.agents.http,
      signal: r.signal,
    };
    // TLS keeps the name: SNI and certificate checks use it, not the dialed IP.
    if (secure && net.isIP(hostname) === 0) options.servername = hostname;
    const req = (secure ? https : http).request(options);
    const timer = setTimeout(() => {
      req.destroy(
        new SphyrNetworkError('upstream_timeout', `${r.target.host} sent no response headers in time`),
      );
    }, r.headersTimeoutMs);
    req.setTimeout(r.idleTimeoutMs, () => {
      req.destroy(new SphyrNetworkError('upstream_timeout', `${r.target.host} stopped responding`));
    });
    req.once('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.once('error', (error) => {
      clearTimeout(timer);
      if (error instanceof SphyrNetworkError) {
        reject(error);
        return;
      }
      if (r.signal.aborted) {
        // The caller went away (its own timeout or abort): its reason, not a gateway failure.
        reject(
          new SphyrNetworkError(
            'client_closed',
            'the caller closed the connection before the target answered',
          ),
        );
        return;
      }
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      if (/CERT|SSL|TLS|SELF_SIGNED|HOSTNAME/.test(code)) {
        reject(
          new SphyrNetworkError('upstream_tls_error', `TLS with ${r.target.host} failed (${code})`, {
            cause: error,
          }),
        );
        return;
      }
      reject(
        new SphyrNetworkError('upstream_unreachable', `could not reach ${r.target.host} (${code})`, {
          cause: error,
        }),
      );
    });
    r.body.pipeTo(req);
  });
}
