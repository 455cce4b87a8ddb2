/**
 * @module The gateway's verification of a `sphyr-req-v1` request, in the order DESIGN §3.2 fixes:
 * parse → exact component list → window → key lookup → digest → HMAC (constant time) → nonce.
 * Cheap, key-independent checks run first; the nonce store is written only after a valid HMAC.
 */
import { timingSafeEqual } from 'node:crypto';
import { SphyrAuthError } from '../errors.js';
import { parseContentDigest } from './content-digest.js';
import { type NonceStore, nonceKey } from './nonce-store.js';
import { parseSignatureHeaders } from './parse.js';
import { COVERED_COMPONENTS, LABEL, NONCE_TTL_SECONDS, type SignedCallKind } from './profile.js';
import { computeSignature } from './sign.js';
import { buildSignatureBase, type RequestFacts, type SignatureParams } from './signature-base.js';
import { checkWindow } from './window.js';

/** What the gateway knows about the request it received. */
export interface VerifySignedRequestInput {
  kind: SignedCallKind;
  /** Facts from the received request; `contentDigest` is the `Content-Digest` header, if any. */
  facts: Omit<RequestFacts, 'contentDigest'> & { contentDigest: string | undefined };
  signatureInput?: string;
  signature?: string;
  /** Gateway time in seconds since the epoch. */
  nowSeconds: number;
  /** Raw HMAC key for a key id; throws its own `SphyrAuthError` (`unknown_key`, `key_revoked`…). */
  lookupKey(keyId: string): Promise<Uint8Array>;
  /** `Content-Digest` value computed over the body bytes actually received. */
  computeBodyDigest(): Promise<string>;
  nonceStore: NonceStore;
}

/** A request whose signature verified. */
export interface VerifiedRequest {
  keyId: string;
  params: SignatureParams;
  /** The verified `Signature` member, `sig=:<base64>:`, re-serialized; fit for logging. */
  signature: string;
}

const SHA256 = 'sha-256';

/**
 * Verifies a signed gateway request. Throws `SphyrAuthError` with code `missing_signature`,
 * `malformed_signature`, `bad_signature` (wrong component list, missing component, HMAC mismatch),
 * `clock_skew` (with `serverTime`), `missing_digest`, `bad_digest` or `replay`; errors from
 * `lookupKey`/`computeBodyDigest` propagate unchanged.
 */
export async function verifySignedRequest(input: VerifySignedRequestInput): Promise<VerifiedRequest> {
  const parsed = parseSignatureHeaders(input.signatureInput, input.signature);

  // The profile fixes the list per kind, so a signer cannot leave the target or agent id uncovered.
  const expected = COVERED_COMPONENTS[input.kind];
  if (parsed.components.length !== expected.length || parsed.components.some((c, i) => c !== expected[i])) {
    throw new SphyrAuthError(
      'bad_signature',
      `covered components must be (${expected.map((c) => `"${c}"`).join(' ')}) for a ${input.kind} call`,
    );
  }

  checkWindow(parsed.params, input.nowSeconds);

  const key = await input.lookupKey(parsed.params.keyid);

  const digestHeader = input.facts.contentDigest?.trim();
  if (digestHeader === undefined || digestHeader === '') {
    throw new SphyrAuthError('missing_digest', 'Content-Digest header is missing');
  }
  const claimed = parseContentDigest(digestHeader).get(SHA256);
  if (claimed === undefined) throw new SphyrAuthError('bad_digest', `Content-Digest has no ${SHA256} member`);
  const actual = parseContentDigest(await input.computeBodyDigest()).get(SHA256);
  // The body is not secret, so a plain comparison is fine here.
  if (actual === undefined || !claimed.equals(actual)) {
    throw new SphyrAuthError('bad_digest', 'Content-Digest does not match the body received');
  }

  const base = buildSignatureBase(input.kind, { ...input.facts, contentDigest: digestHeader }, parsed.params);
  const mac = computeSignature(key, base);
  // timingSafeEqual throws on different lengths; parse already pins the length, this keeps it local.
  if (mac.length !== parsed.signature.length || !timingSafeEqual(mac, parsed.signature)) {
    throw new SphyrAuthError('bad_signature', 'signature does not match the request');
  }

  const nonce = nonceKey(parsed.params.keyid, parsed.params.nonce);
  if (!(await input.nonceStore.setIfAbsent(nonce, NONCE_TTL_SECONDS))) {
    throw new SphyrAuthError('replay', 'this signature was already used');
  }

  return {
    keyId: parsed.params.keyid,
    params: parsed.params,
    signature: `${LABEL}=:${parsed.signature.toString('base64')}:`,
  };
}
