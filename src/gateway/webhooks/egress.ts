/**
 * @module Webhook egress: URL checks and one pinned POST. Deliveries go through the same SSRF
 * screen as relays (resolve once, every answer public, dial only the vetted address with Host
 * and SNI kept as the name) and never follow redirects.
 */

import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { ScreenResult } from '../../policy/index.js';
import type { GatewayContext } from '../context.js';
import { screenForGateway } from '../screening.js';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Syntax only: an absolute http(s) URL without userinfo or fragment; the error says what is wrong. */
export function checkWebhookUrl(raw: unknown): { url: URL } | { error: string } {
  if (typeof raw !== 'string' || raw.trim() === '') return { error: 'url must be a non-empty string' };
  const text = raw.trim();
  if (text.length > MAX_WEBHOOK_URL_LENGTH) {
    return { error: `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters` };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: 'url is not a valid absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: 'url must be http or https' };
  if (url.username !== '' || url.password !== '') {
    return { error: 'url must not contain a user name or password' };
  }
  if (url.hash !== '') return { error: 'url must not contain a #fragment' };
  return { url };
}

/** The gateway's SSRF screen (see screening.ts): deliveries screen exactly as relays do. */
export function screenWebhookUrl(ctx: GatewayContext, url: URL): Promise<ScreenResult> {
  return screenForGateway(ctx, url);
}

export interface WebhookHttpRequest {
  url: URL;
  /** The vetted address to dial; the name is never resolved again. */
  address: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Extra trusted CA (PEM) for https endpoints; Node's roots stay trusted. */
  ca?: string;
}

export interface WebhookHttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
}

/** Sends one request; resolves with the status (any, 3xx included: nothing is followed). */
export type WebhookSender = (request: WebhookHttpRequest) => Promise<WebhookHttpResponse>;

const MAX_RESPONSE_BYTES = 64 * 1024;

/** POST to the pinned address over a fresh connection; the whole exchange is bounded by timeoutMs. */
export const sendPinned: WebhookSender = (r) => {
  const secure = r.url.protocol === 'https:';
  const hostname = r.url.hostname.replace(/^\[|\]$/g, '');
  const body = Buffer.from(r.body, 'utf8');
  const options: https.RequestOptions = {
    host: r.address,
    port: Number(r.url.port) || (secure ? 443 : 80),
    method: 'POST',
    path: `${r.url.pathname}${r.url.search}`,
    headers: { ...r.headers, host: r.url.host, 'content-length': body.length, connection: 'close' },
    agent: false,
    signal: r.signal,
  };
  if (secure) {
    if (net.isIP(hostname) === 0) options.servername = hostname;
    if (r.ca) options.ca = [...tls.rootCertificates, r.ca];
  }
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(options);
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${r.timeoutMs} ms`)), r.timeoutMs);
    req.once('error', (error) => {
      clearTimeout(timer);
      const code = (error as NodeJS.ErrnoException).code;
      reject(new Error(code ? `${code}: ${error.message}` : error.message));
    });
    req.once('response', (res) => {
      // Read (and drop) a bounded body so the receiver sees a clean exchange, then answer.
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > MAX_RESPONSE_BYTES) res.destroy();
      });
      const done = () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      };
      res.once('end', done);
      res.once('close', done);
      res.once('error', done);
    });
    req.end(body);
  });
};
