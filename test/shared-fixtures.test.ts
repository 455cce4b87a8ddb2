/**
 * The fixtures both SDKs are held to (fixtures/shared/*.json): python/tests/test_shared_fixtures.py
 * reads the same files, so the Node and Python implementations cannot drift apart unnoticed.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCredential } from '../src/config/credential.js';
import { SphyrPolicyError } from '../src/errors.js';
// The public surface, so this file does not depend on how src/sdk is laid out inside.
import { verifyWebhook } from '../src/index.js';
import { canonicalTargetUri, classifyForInstrumentation, type Route } from '../src/policy/index.js';
import {
  buildSignatureBase,
  COVERED_COMPONENTS,
  contentDigest,
  EMPTY_CONTENT_DIGEST,
  type RequestFacts,
  signRequest,
} from '../src/signing/index.js';

const SHARED = path.join(import.meta.dirname, '..', 'fixtures', 'shared');
const load = <T>(name: string): T => JSON.parse(readFileSync(path.join(SHARED, name), 'utf8')) as T;

interface SigningVectors {
  components: Record<'relay' | 'agent' | 'register', string[]>;
  emptyBodyDigest: string;
  relay: {
    keyHex: string;
    credential: string;
    keyId: string;
    body: string;
    method: string;
    authority: string;
    path: string;
    query: string;
    targetUri: string;
    agentId: string;
    created: number;
    nonce: string;
    contentDigest: string;
    base: string[];
    signatureInput: string;
    signature: string;
  };
  webhook: { secret: string; body: string; signature: string; hexDecodedKeySignature: string };
}

interface RouteCase {
  url: string;
  node: Route;
  python?: Route;
  why?: string;
  gateway?: string;
  directHosts?: string[];
  instrumentHosts?: string[];
}

interface CanonicalCase {
  input: string;
  href?: string;
  error?: string;
  libraryHrefs?: string[];
}

const vectors = load<SigningVectors>('signing-vectors.json');
const routes = load<{ gateway: string; cases: RouteCase[] }>('route-cases.json');
const canonical = load<{ cases: CanonicalCase[] }>('target-canonical.json');

describe('signing vectors (fixtures/shared/signing-vectors.json)', () => {
  const v = vectors.relay;
  const facts: RequestFacts = {
    method: v.method,
    authority: v.authority,
    path: v.path,
    query: v.query,
    targetUri: v.targetUri,
    contentDigest: v.contentDigest,
    agentId: v.agentId,
  };

  it('the credential decodes to the vector key, and the body to the vector digest', () => {
    const credential = parseCredential(v.credential, 'vector');
    expect(credential.keyId).toBe(v.keyId);
    expect(Buffer.from(credential.secret).toString('hex')).toBe(v.keyHex);
    expect(contentDigest(v.body)).toBe(v.contentDigest);
    expect(contentDigest('')).toBe(vectors.emptyBodyDigest);
    expect(EMPTY_CONTENT_DIGEST).toBe(vectors.emptyBodyDigest);
  });

  it('covers the component lists of every call kind', () => {
    expect(COVERED_COMPONENTS).toEqual(vectors.components);
  });

  it('reproduces the signature base, Signature-Input and Signature byte for byte', () => {
    const signed = signRequest({
      kind: 'relay',
      facts,
      keyId: v.keyId,
      key: Buffer.from(v.keyHex, 'hex'),
      nowSeconds: v.created,
      nonce: v.nonce,
    });
    expect(buildSignatureBase('relay', facts, signed.params)).toBe(v.base.join('\n'));
    expect(signed.signatureInput).toBe(v.signatureInput);
    expect(signed.signature).toBe(v.signature);
  });

  it('verifies the webhook vector with the ASCII key and rejects the hex-decoded-key signature', () => {
    const w = vectors.webhook;
    expect(verifyWebhook(w.body, w.signature, w.secret)).toBe(true);
    // The counter-example really is the other construction, so rejecting it means something.
    const hexKeyed = createHmac('sha256', Buffer.from(w.secret, 'hex')).update(w.body).digest('hex');
    expect(hexKeyed).toBe(w.hexDecodedKeySignature);
    expect(verifyWebhook(w.body, w.hexDecodedKeySignature, w.secret)).toBe(false);
  });
});

describe('routing cases (fixtures/shared/route-cases.json)', () => {
  it('has cases, and a reason wherever Python differs', () => {
    expect(routes.cases.length).toBeGreaterThan(40);
    for (const c of routes.cases) if (c.python !== undefined) expect(c.why, c.url).toBeTruthy();
  });

  it.each(routes.cases.map((c) => [c.url, c] as const))('%s', (_url, c) => {
    const route = classifyForInstrumentation(c.url, {
      gatewayUrl: c.gateway ?? routes.gateway,
      directHosts: c.directHosts,
      instrumentHosts: c.instrumentHosts,
    });
    expect(route).toBe(c.node);
  });
});

describe('canonical targets (fixtures/shared/target-canonical.json)', () => {
  it.each(canonical.cases.map((c) => [c.input, c] as const))('%j', (_input, c) => {
    if (c.error !== undefined) {
      expect(() => canonicalTargetUri(c.input)).toThrow(SphyrPolicyError);
      expect(() => canonicalTargetUri(c.input)).toThrow(expect.objectContaining({ code: c.error }));
      return;
    }
    const url = new URL(c.input);
    url.hash = '';
    expect(url.href).toBe(c.href);
    expect(canonicalTargetUri(c.input)).toBe(c.href);
    // Every form a Python library produces is one the gateway accepts: WHATWG maps it to itself.
    for (const href of [c.href ?? '', ...(c.libraryHrefs ?? [])]) expect(new URL(href).href).toBe(href);
  });
});
