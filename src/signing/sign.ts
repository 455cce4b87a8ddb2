/**
 * @module Signing a gateway request with `sphyr-req-v1`: produces the `Signature-Input` and
 * `Signature` header values. The caller sets `Content-Digest`, `Sphyr-Target-Uri` and `Sphyr-Agent-Id`
 * to exactly the values given in `facts`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import {
  ALG,
  COVERED_COMPONENTS,
  KEYID_PATTERN,
  LABEL,
  MAX_LIFETIME_SECONDS,
  MIN_KEY_BYTES,
  NONCE_BYTES,
  NONCE_PATTERN,
  PROFILE_TAG,
  SIGN_LIFETIME_SECONDS,
  type SignedCallKind,
} from './profile.js';
import {
  buildSignatureBase,
  type RequestFacts,
  type SignatureParams,
  serializeSignatureParams,
} from './signature-base.js';

/** A fresh nonce: 16 random bytes, base64url without padding (22 characters). */
export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64url');
}

/** HMAC-SHA256 of the signature base (UTF-8, which is ASCII here) under the raw key bytes. */
export function computeSignature(key: Uint8Array, base: string): Buffer {
  if (key.byteLength < MIN_KEY_BYTES)
    throw new RangeError(`HMAC key must be at least ${MIN_KEY_BYTES} bytes`);
  return createHmac('sha256', key).update(base, 'utf8').digest();
}

/** What `signRequest` needs. */
export interface SignRequestInput {
  kind: SignedCallKind;
  facts: RequestFacts;
  keyId: string;
  /** The credential's secret, decoded to raw bytes. */
  key: Uint8Array;
  /** Current time in seconds since the epoch, already corrected by any known server offset. */
  nowSeconds: number;
  /** Fixed nonce, for test vectors; otherwise a fresh random one. */
  nonce?: string;
  /** Defaults to 60 s; at most 300 s, which is all the gateway accepts. */
  lifetimeSeconds?: number;
}

/** Header values to send, and the parameters that went into them. */
export interface SignedHeaders {
  /** `Signature-Input` value: `sig=(…);created=…;…`. */
  signatureInput: string;
  /** `Signature` value: `sig=:<base64>:`. */
  signature: string;
  params: SignatureParams;
}

/** Signs one gateway request. Throws if `facts` lacks a component the kind covers. */
export function signRequest(input: SignRequestInput): SignedHeaders {
  const lifetime = input.lifetimeSeconds ?? SIGN_LIFETIME_SECONDS;
  if (!Number.isSafeInteger(lifetime) || lifetime < 1 || lifetime > MAX_LIFETIME_SECONDS) {
    throw new RangeError(`lifetimeSeconds must be an integer in 1..${MAX_LIFETIME_SECONDS}`);
  }
  if (!KEYID_PATTERN.test(input.keyId)) throw new RangeError('keyId must match [A-Za-z0-9_-]{1,128}');
  const nonce = input.nonce ?? newNonce();
  if (!NONCE_PATTERN.test(nonce)) throw new RangeError('nonce must be 16-128 base64url characters');
  // RFC 9421 `created` is an integer; a fractional clock is truncated.
  const created = Math.floor(input.nowSeconds);
  const params: SignatureParams = {
    created,
    expires: created + lifetime,
    nonce,
    keyid: input.keyId,
    alg: ALG,
    tag: PROFILE_TAG,
  };
  const base = buildSignatureBase(input.kind, input.facts, params);
  const mac = computeSignature(input.key, base);
  return {
    // LABEL is a valid sf-key, so plain concatenation is the dictionary serialization.
    signatureInput: `${LABEL}=${serializeSignatureParams(COVERED_COMPONENTS[input.kind], params)}`,
    signature: `${LABEL}=:${mac.toString('base64')}:`,
    params,
  };
}
