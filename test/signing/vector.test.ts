import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildSignatureBase,
  checkBodyDigest,
  contentDigest,
  EMPTY_CONTENT_DIGEST,
  MemoryNonceStore,
  parseSignatureHeaders,
  type RequestFacts,
  signRequest,
  verifySignedRequest,
} from '../../src/signing/index.js';

// DESIGN §3.2 test vector. Expected values are copied from the design, never from our output.
const KEY_HEX = '7e1f3a9c'.repeat(8);
const CREDENTIAL = 'sphyr.key_live_7Qm2.fh86nH4fOpx-Hzqcfh86nH4fOpx-Hzqcfh86nH4fOpw';
const BODY = '{"model":"x","input":"hi"}';
const DIGEST = 'sha-256=:OMWgcu6hBQQ0AOMwgHNTezXgQwvyrclVidjFmSlojyM=:';
const PARAMS_VALUE =
  '("@method" "@authority" "@path" "@query" "sphyr-target-uri" "content-digest" "sphyr-agent-id");created=1767225600;expires=1767225660;nonce="b3k2dC1ub25jZS0xMjM0NTY";keyid="key_live_7Qm2";alg="hmac-sha256";tag="sphyr-req-v1"';
const BASE = [
  '"@method": POST',
  '"@authority": gateway.example.test:7470',
  '"@path": /v1/relay',
  '"@query": ?',
  '"sphyr-target-uri": https://api.example.com/v1/responses?stream=false',
  '"content-digest": sha-256=:OMWgcu6hBQQ0AOMwgHNTezXgQwvyrclVidjFmSlojyM=:',
  '"sphyr-agent-id": agt_42',
  `"@signature-params": ${PARAMS_VALUE}`,
].join('\n');
const SIGNATURE = 'sig=:vbAElhhNgxII/2l6uo4FAbKpgHyK7E42BJiv2i5Yh1E=:';

const key = Buffer.from(KEY_HEX, 'hex');
const facts: RequestFacts = {
  method: 'POST',
  authority: 'gateway.example.test:7470',
  path: '/v1/relay',
  query: '',
  targetUri: 'https://api.example.com/v1/responses?stream=false',
  contentDigest: DIGEST,
  agentId: 'agt_42',
};
const signInput = {
  kind: 'relay' as const,
  facts,
  keyId: 'key_live_7Qm2',
  key,
  nowSeconds: 1767225600,
  nonce: 'b3k2dC1ub25jZS0xMjM0NTY',
};

describe('DESIGN §3.2 test vector', () => {
  it('the credential secret decodes to the vector key', () => {
    const [prefix, keyId, secret] = CREDENTIAL.split('.');
    expect(prefix).toBe('sphyr');
    expect(keyId).toBe('key_live_7Qm2');
    const decoded = Buffer.from(secret ?? '', 'base64url');
    expect(decoded.length).toBe(32);
    expect(decoded.equals(key)).toBe(true);
  });

  it('content digests', () => {
    expect(contentDigest(BODY)).toBe(DIGEST);
    expect(contentDigest(new TextEncoder().encode(BODY))).toBe(DIGEST);
    expect(contentDigest('')).toBe(EMPTY_CONTENT_DIGEST);
    expect(EMPTY_CONTENT_DIGEST).toBe('sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
  });

  it('signature base, byte for byte', () => {
    const { params } = signRequest(signInput);
    const base = buildSignatureBase('relay', facts, params);
    expect(base).toBe(BASE);
    expect(base.endsWith('\n')).toBe(false);
  });

  it('Signature and Signature-Input', () => {
    const signed = signRequest(signInput);
    expect(signed.signature).toBe(SIGNATURE);
    expect(signed.signatureInput).toBe(`sig=${PARAMS_VALUE}`);
    expect(signed.params).toEqual({
      created: 1767225600,
      expires: 1767225660,
      nonce: 'b3k2dC1ub25jZS0xMjM0NTY',
      keyid: 'key_live_7Qm2',
      alg: 'hmac-sha256',
      tag: 'sphyr-req-v1',
    });
  });

  it('parses back to the same params value', () => {
    const parsed = parseSignatureHeaders(`sig=${PARAMS_VALUE}`, SIGNATURE);
    expect(parsed.paramsValue).toBe(PARAMS_VALUE);
    expect(parsed.signature.toString('base64')).toBe('vbAElhhNgxII/2l6uo4FAbKpgHyK7E42BJiv2i5Yh1E=');
  });

  it('the gateway verifies the vector', async () => {
    const result = await verifySignedRequest({
      kind: 'relay',
      facts,
      signatureInput: `sig=${PARAMS_VALUE}`,
      signature: SIGNATURE,
      nowSeconds: 1767225610,
      lookupKey: async () => key,
      nonceStore: new MemoryNonceStore({ now: () => 1767225610_000, rememberedSinceSeconds: 0 }),
    });
    expect(result).toEqual({
      keyId: 'key_live_7Qm2',
      params: signRequest(signInput).params,
      signature: SIGNATURE,
      bodySha256: createHash('sha256').update(BODY).digest(),
    });
    // …and the body it was signed over passes the digest check.
    expect(() => checkBodyDigest(result, createHash('sha256').update(BODY).digest())).not.toThrow();
  });
});
