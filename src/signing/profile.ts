/**
 * @module The `sphyr-req-v1` signing profile (DESIGN §3.2): the constants both the signer and the
 * gateway's verifier must agree on. Change nothing here without changing the profile tag.
 */

/** Value of the `tag` signature parameter; marks a signature as made for this profile and nothing else. */
export const PROFILE_TAG = 'sphyr-req-v1';

/** Dictionary label of our signature in `Signature-Input` and `Signature`. */
export const LABEL = 'sig';

/** Value of the `alg` signature parameter (RFC 9421 §3.3.3). */
export const ALG = 'hmac-sha256';

/** Which kind of gateway call is being signed; each kind has its own fixed component list. */
export type SignedCallKind = 'relay' | 'agent' | 'register' | 'tunnel';

/** Field names (lowercase, as RFC 9421 component identifiers and Node header keys). */
export const HEADER_SIGNATURE = 'signature';
export const HEADER_SIGNATURE_INPUT = 'signature-input';
export const HEADER_CONTENT_DIGEST = 'content-digest';
export const HEADER_TARGET_URI = 'sphyr-target-uri';
export const HEADER_AGENT_ID = 'sphyr-agent-id';
/** `host:port` a tunnel (`POST /v1/tunnel`) is to reach; signed in place of the relay's target URI. */
export const HEADER_TARGET = 'sphyr-target';

/**
 * Covered components, in order, per call kind. The gateway requires exactly this list: a signer
 * cannot leave out the target or the agent id and still be accepted.
 */
export const COVERED_COMPONENTS: Readonly<Record<SignedCallKind, readonly string[]>> = Object.freeze({
  relay: Object.freeze([
    '@method',
    '@authority',
    '@path',
    '@query',
    HEADER_TARGET_URI,
    HEADER_CONTENT_DIGEST,
    HEADER_AGENT_ID,
  ]),
  tunnel: Object.freeze([
    '@method',
    '@authority',
    '@path',
    '@query',
    HEADER_TARGET,
    HEADER_CONTENT_DIGEST,
    HEADER_AGENT_ID,
  ]),
  agent: Object.freeze(['@method', '@authority', '@path', '@query', HEADER_CONTENT_DIGEST, HEADER_AGENT_ID]),
  register: Object.freeze(['@method', '@authority', '@path', '@query', HEADER_CONTENT_DIGEST]),
});

/** Signature parameter names, in the order the profile serializes (and the verifier requires) them. */
export const PARAM_ORDER = Object.freeze(['created', 'expires', 'nonce', 'keyid', 'alg', 'tag'] as const);

/** The gateway accepts `created` no older than this many seconds… */
export const MAX_PAST_SECONDS = 300;
/** …and no further in the future than this. */
export const MAX_FUTURE_SECONDS = 60;
/** `expires - created` may not exceed this. */
export const MAX_LIFETIME_SECONDS = 300;
/** Lifetime the signer uses (`expires = created + 60`). */
export const SIGN_LIFETIME_SECONDS = 60;
/**
 * How long a used nonce is kept past the last moment its signature can be accepted (see
 * `lastAcceptableSecond` in window.ts, which gives each nonce its own TTL): covers the rounding of
 * the gateway's clock to whole seconds and a shared store's round trip. Every nonce is therefore
 * kept at most `MAX_FUTURE_SECONDS + MAX_LIFETIME_SECONDS` s + 1 s + this margin.
 */
export const NONCE_MARGIN_MS = 2_000;

/** Longest `Signature`/`Signature-Input`/`Content-Digest` value parsed; ours are ~300 chars. */
export const MAX_HEADER_LENGTH = 4096;

/** Number of random bytes in a nonce (base64url without padding: 22 chars). */
export const NONCE_BYTES = 16;

/** Key ids as in the credential `sphyr.<keyid>.<secret>` (DESIGN §3.1); bounded so they stay log-safe. */
export const KEYID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Nonces: base64url alphabet, 16–128 chars. Not pinned to 22 so other signers may use longer nonces;
 * the lower bound keeps accidental constant nonces like `"1"` out.
 */
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

/** Smallest HMAC key accepted (DESIGN §3.1: at least 32 random bytes). */
export const MIN_KEY_BYTES = 32;

/** Length of an HMAC-SHA256 signature in bytes. */
export const SIGNATURE_BYTES = 32;
