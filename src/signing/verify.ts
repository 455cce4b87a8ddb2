/**
 * @module The gateway's verification of a `sphyr-req-v1` request, in this order:
 * parse → exact component list → window → `Content-Digest` header → key lookup → HMAC over the
 * signature base, which includes that header's value (constant time) → nonce. The body is not read
 * here at all: the HMAC covers the claimed digest, so the signature can hold or fail before one body
 * byte is read, and the caller reads the body only for a request whose signature held, then checks
 * it against the signed digest with `checkBodyDigest`.
 *
 * The nonce is spent before the body is checked. A signed request whose body then fails the digest
 * has burnt its nonce; only the key holder can make such a request, and spending the nonce first
 * means a captured request cannot make the gateway read its body twice.
 */
import { timingSafeEqual } from 'node:crypto';
import { SphyrAuthError } from '../errors.js';
import { parseContentDigest } from './content-digest.js';
import { type NonceStore, nonceKey } from './nonce-store.js';
import { parseSignatureHeaders } from './parse.js';
import { COVERED_COMPONENTS, LABEL, NONCE_MARGIN_MS, type SignedCallKind } from './profile.js';
import { computeSignature } from './sign.js';
import { buildSignatureBase, type RequestFacts, type SignatureParams } from './signature-base.js';
import { checkWindow, lastAcceptableSecond } from './window.js';

/** What the gateway knows about the request it received. */
export interface VerifySignedRequestInput {
  kind: SignedCallKind;
  /** Facts from the received request; `contentDigest` is the `Content-Digest` header, if any. */
  facts: Omit<RequestFacts, 'contentDigest'> & { contentDigest: string | undefined };
  signatureInput?: string;
  signature?: string;
  /** Gateway time in seconds since the epoch, on the same clock as `nonceStore`. */
  nowSeconds: number;
  /** Raw HMAC key for a key id; throws its own `SphyrAuthError` (`unknown_key`, `key_revoked`…). */
  lookupKey(keyId: string): Promise<Uint8Array>;
  nonceStore: NonceStore;
}

/** A request whose signature verified; its body is still to be checked with `checkBodyDigest`. */
export interface VerifiedRequest {
  keyId: string;
  params: SignatureParams;
  /** The verified `Signature` member, `sig=:<base64>:`, re-serialized; fit for logging. */
  signature: string;
  /** The body's SHA-256 as the signed `Content-Digest` states it. */
  bodySha256: Buffer;
}

const SHA256 = 'sha-256';

/**
 * Verifies the signature of a gateway request, without its body. Throws `SphyrAuthError` with code
 * `missing_signature`, `malformed_signature`, `bad_signature` (wrong component list, missing
 * component, HMAC mismatch), `clock_skew` (with `serverTime`), `missing_digest`, `bad_digest` (a
 * `Content-Digest` without a usable `sha-256` member) or `replay`; errors from `lookupKey` propagate
 * unchanged.
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

  const nowSeconds = Math.floor(input.nowSeconds);
  checkWindow(parsed.params, nowSeconds);

  const digestHeader = input.facts.contentDigest?.trim();
  if (digestHeader === undefined || digestHeader === '') {
    throw new SphyrAuthError('missing_digest', 'Content-Digest header is missing');
  }
  const claimed = parseContentDigest(digestHeader).get(SHA256);
  if (claimed === undefined) throw new SphyrAuthError('bad_digest', `Content-Digest has no ${SHA256} member`);

  const key = await input.lookupKey(parsed.params.keyid);

  const base = buildSignatureBase(input.kind, { ...input.facts, contentDigest: digestHeader }, parsed.params);
  const mac = computeSignature(key, base);
  // timingSafeEqual throws on different lengths; parse already pins the length, this keeps it local.
  if (mac.length !== parsed.signature.length || !timingSafeEqual(mac, parsed.signature)) {
    throw new SphyrAuthError('bad_signature', 'signature does not match the request');
  }

  // A store that forgot what came before its start (a restart) cannot tell a replay of an older
  // signature: refuse it, as a clock problem the client cures by signing again (once).
  const since = input.nonceStore.rememberedSinceSeconds;
  if (since !== undefined && parsed.params.created < since) {
    throw new SphyrAuthError(
      'clock_skew',
      `created ${parsed.params.created} is before this gateway started remembering nonces (${since}); sign again`,
      { serverTime: nowSeconds * 1000 },
    );
  }

  // Keep the nonce for as long as the window could accept this signature (whole seconds, so up to
  // the end of its last second), whatever its own created/expires, plus a margin.
  const ttlMs = (lastAcceptableSecond(parsed.params) + 1 - nowSeconds) * 1000 + NONCE_MARGIN_MS;
  const nonce = nonceKey(parsed.params.keyid, parsed.params.nonce);
  if (!(await input.nonceStore.setIfAbsent(nonce, { ttlMs }))) {
    throw new SphyrAuthError('replay', 'this signature was already used');
  }

  return {
    keyId: parsed.params.keyid,
    params: parsed.params,
    signature: `${LABEL}=:${parsed.signature.toString('base64')}:`,
    bodySha256: claimed,
  };
}

/**
 * Checks the SHA-256 of the body bytes actually received against the signed `Content-Digest`;
 * throws `SphyrAuthError('bad_digest')` when they differ.
 */
export function checkBodyDigest(
  verified: Pick<VerifiedRequest, 'bodySha256'>,
  receivedSha256: Uint8Array,
): void {
  // The body is not secret, so a plain comparison is fine here.
  if (!verified.bodySha256.equals(receivedSha256)) {
    throw new SphyrAuthError('bad_digest', 'Content-Digest does not match the body received');
  }
}
