import type { Credential } from '../../src/config/credential.js';
import { contentDigest, type SignedCallKind, signRequest } from '../../src/signing/index.js';

export interface RawSignedRequest {
  gatewayUrl: string;
  credential: Credential;
  kind?: SignedCallKind;
  path?: string;
  method?: string;
  target?: string;
  agentId?: string;
  body?: string | Uint8Array;
  /** Sign with these instead of the real values, to tamper. */
  signWith?: { body?: string; target?: string; key?: Uint8Array; nowSeconds?: number; nonce?: string };
  headers?: Record<string, string>;
}

/** Build and send one signed gateway request by hand, so tests can tamper with any part of it. */
export async function sendSigned(r: RawSignedRequest): Promise<Response> {
  const kind = r.kind ?? 'relay';
  const method = r.method ?? 'POST';
  const url = new URL(r.path ?? '/v1/relay', r.gatewayUrl);
  const body = typeof r.body === 'string' ? Buffer.from(r.body) : (r.body ?? new Uint8Array());
  const signedBody = r.signWith?.body === undefined ? body : Buffer.from(r.signWith.body);
  const digest = contentDigest(signedBody);
  const signed = signRequest({
    kind,
    facts: {
      method,
      authority: url.host,
      path: url.pathname,
      query: url.search || '?',
      targetUri: kind === 'relay' ? (r.signWith?.target ?? r.target) : undefined,
      contentDigest: digest,
      agentId: kind === 'register' ? undefined : r.agentId,
    },
    keyId: r.credential.keyId,
    key: r.signWith?.key ?? r.credential.secret,
    nowSeconds: r.signWith?.nowSeconds ?? Math.floor(Date.now() / 1000),
    nonce: r.signWith?.nonce,
  });
  const headers: Record<string, string> = {
    'content-digest': digest,
    'signature-input': signed.signatureInput,
    signature: signed.signature,
    ...r.headers,
  };
  if (kind === 'relay' && r.target) headers['sphyr-target-uri'] = r.target;
  if (kind !== 'register' && r.agentId) headers['sphyr-agent-id'] = r.agentId;
  return fetch(url, {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
    redirect: 'manual',
  });
}

export async function errorCode(res: Response): Promise<string | undefined> {
  const data = (await res.json()) as { error?: { code?: string } };
  return data.error?.code;
}
