/**
 * @module The RFC 9421 signature base for `sphyr-req-v1`: one `"<component>": <value>` line per covered
 * component, then the `@signature-params` line. Signer and verifier both build it here, so they
 * cannot drift apart.
 */
import { type InnerList, type Item, type Parameters, serializeInnerList } from 'structured-headers';
import { SphyrAuthError } from '../errors.js';
import {
  COVERED_COMPONENTS,
  HEADER_AGENT_ID,
  HEADER_CONTENT_DIGEST,
  HEADER_TARGET,
  HEADER_TARGET_URI,
  PARAM_ORDER,
  type SignedCallKind,
} from './profile.js';

/**
 * What a signature covers, taken from the gateway request (verifier) or the request about to be sent
 * to the gateway (signer).
 */
export interface RequestFacts {
  /** HTTP method exactly as sent on the wire (e.g. `POST`). */
  method: string;
  /** The gateway request's `host[:port]`; lowercased here. A default port must already be omitted. */
  authority: string;
  /** The gateway request's raw (not decoded) path; `''` is treated as `/`. */
  path: string;
  /** The raw query including its leading `?`, or `''` when absent (WHATWG `URL.search` form). */
  query: string;
  /** `Sphyr-Target-Uri` header value (relay only). */
  targetUri?: string;
  /** `Sphyr-Target` header value, `host:port` (tunnel only). */
  target?: string;
  /** `Content-Digest` header value as sent. */
  contentDigest: string;
  /** `Sphyr-Agent-Id` header value (relay and agent calls). */
  agentId?: string;
}

/** The six signature parameters of the profile, in their serialization order. */
export interface SignatureParams {
  created: number;
  expires: number;
  nonce: string;
  keyid: string;
  alg: string;
  tag: string;
}

// Visible ASCII and space only: a CR/LF would let one value forge extra base lines, and non-ASCII
// would make the byte encoding of the base ambiguous between signer and verifier.
const SAFE_VALUE = /^[\x20-\x7e]*$/;

function unsignable(message: string): SphyrAuthError {
  return new SphyrAuthError('bad_signature', message);
}

/**
 * Serializes the `@signature-params` value: the inner list of component identifiers with the
 * parameters in profile order, e.g. `("@method" …);created=1;expires=61;nonce="…";keyid="…";alg="…";tag="…"`.
 * Uses the structured-fields serializer so quoting and escaping follow RFC 8941.
 */
export function serializeSignatureParams(components: readonly string[], params: SignatureParams): string {
  for (const name of ['created', 'expires'] as const) {
    if (!Number.isSafeInteger(params[name]))
      throw new TypeError(`signature parameter ${name} must be an integer`);
  }
  const items: Item[] = components.map((component) => [component, new Map()]);
  const parameters: Parameters = new Map(PARAM_ORDER.map((name) => [name, params[name]]));
  const list: InnerList = [items, parameters];
  try {
    return serializeInnerList(list);
  } catch (error) {
    throw new TypeError(`signature parameters cannot be serialized: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The value of one covered component, or `undefined` when the request does not carry it. */
function componentValue(component: string, facts: RequestFacts): string | undefined {
  switch (component) {
    case '@method':
      return facts.method || undefined;
    case '@authority':
      // RFC 9421 §2.2.3: host is case-insensitive, so both sides use lowercase.
      return facts.authority.toLowerCase() || undefined;
    case '@path':
      // RFC 9421 §2.2.6: an empty path is "/".
      return facts.path === '' ? '/' : facts.path;
    case '@query':
      // RFC 9421 §2.2.7: an absent or empty query is "?".
      if (facts.query === '') return '?';
      if (!facts.query.startsWith('?')) throw unsignable('@query must start with "?" (URL.search form)');
      return facts.query;
    // Fields: RFC 9421 §2.1 uses the value with surrounding whitespace trimmed.
    case HEADER_TARGET_URI:
      return facts.targetUri?.trim() || undefined;
    case HEADER_TARGET:
      return facts.target?.trim() || undefined;
    case HEADER_CONTENT_DIGEST:
      return facts.contentDigest.trim() || undefined;
    case HEADER_AGENT_ID:
      return facts.agentId?.trim() || undefined;
    default:
      throw unsignable(`component "${component}" is not part of sphyr-req-v1`);
  }
}

/**
 * Builds the signature base for `kind` (lines joined by `\n`, no trailing newline). Throws
 * `SphyrAuthError('bad_signature')` when a covered component is missing or empty in `facts`
 * (e.g. a relay without `targetUri`) or holds characters outside visible ASCII.
 */
export function buildSignatureBase(
  kind: SignedCallKind,
  facts: RequestFacts,
  params: SignatureParams,
): string {
  const components = COVERED_COMPONENTS[kind];
  const lines: string[] = [];
  for (const component of components) {
    const value = componentValue(component, facts);
    if (value === undefined) throw unsignable(`covered component "${component}" is missing from the request`);
    if (!SAFE_VALUE.test(value)) {
      throw unsignable(`covered component "${component}" contains characters outside visible ASCII`);
    }
    lines.push(`"${component}": ${value}`);
  }
  lines.push(`"@signature-params": ${serializeSignatureParams(components, params)}`);
  return lines.join('\n');
}
