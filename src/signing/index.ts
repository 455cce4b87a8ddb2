/** @module `sphyr-req-v1` request signing (DESIGN §3.2): public surface of src/signing. */
export {
  type ContentDigester,
  contentDigest,
  createContentDigester,
  EMPTY_CONTENT_DIGEST,
  parseContentDigest,
} from './content-digest.js';
export {
  MemoryNonceStore,
  type MemoryNonceStoreOptions,
  type NonceSetOptions,
  type NonceStore,
  nonceKey,
} from './nonce-store.js';
export { type ParsedSignature, parseSignatureHeaders } from './parse.js';
export * from './profile.js';
export {
  computeSignature,
  newNonce,
  type SignedHeaders,
  type SignRequestInput,
  signRequest,
} from './sign.js';
export {
  buildSignatureBase,
  type RequestFacts,
  type SignatureParams,
  serializeSignatureParams,
} from './signature-base.js';
export {
  checkBodyDigest,
  type VerifiedRequest,
  type VerifySignedRequestInput,
  verifySignedRequest,
} from './verify.js';
export { checkWindow, lastAcceptableSecond } from './window.js';
