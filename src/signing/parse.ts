/**
 * @module Parsing `Signature-Input` and `Signature` for `sphyr-req-v1` with a real RFC 8941 parser
 * (never a regex), and checking the shape strictly: anything unexpected is `malformed_signature`.
 */
import { type BareItem, type Dictionary, isInnerList, parseDictionary } from 'structured-headers';
import { SphyrAuthError } from '../errors.js';
import {
  ALG,
  KEYID_PATTERN,
  LABEL,
  MAX_HEADER_LENGTH,
  NONCE_PATTERN,
  PARAM_ORDER,
  PROFILE_TAG,
  SIGNATURE_BYTES,
} from './profile.js';
import { type SignatureParams, serializeSignatureParams } from './signature-base.js';

/** The `sig` signature, parsed and shape-checked (not yet verified). */
export interface ParsedSignature {
  /** Covered component identifiers, in the signer's order. */
  components: string[];
  params: SignatureParams;
  /** The `@signature-params` value, re-serialized from the parsed structure (never the raw text). */
  paramsValue: string;
  /** The signature bytes. */
  signature: Buffer;
}

type HeaderName = 'Signature-Input' | 'Signature';

function malformed(header: HeaderName, message: string, cause?: unknown): SphyrAuthError {
  return new SphyrAuthError('malformed_signature', `${header}: ${message}`, { cause });
}

function parseHeader(header: HeaderName, value: string): Dictionary {
  // Bound the parser's work before it runs; real values are a few hundred characters.
  if (value.length > MAX_HEADER_LENGTH)
    throw malformed(header, `longer than ${MAX_HEADER_LENGTH} characters`);
  try {
    return parseDictionary(value);
  } catch (error) {
    throw malformed(header, `not a structured-field dictionary (${(error as Error).message})`, error);
  }
}

function describe(value: BareItem): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  if (value instanceof ArrayBuffer) return 'a byte sequence';
  if (value instanceof Date) return 'a date';
  return 'a token or display string';
}

function parseParams(parameters: Map<string, BareItem>): SignatureParams {
  const names = [...parameters.keys()];
  // Exactly the six profile parameters in profile order, so the re-serialized value equals what our
  // signer produced and `params` loses nothing.
  if (names.length !== PARAM_ORDER.length || names.some((name, i) => name !== PARAM_ORDER[i])) {
    throw malformed(
      'Signature-Input',
      `parameters must be exactly ${PARAM_ORDER.join(';')} in that order, got ${names.join(';') || 'none'}`,
    );
  }
  const integer = (name: 'created' | 'expires'): number => {
    const value = parameters.get(name) as BareItem;
    // Note: the parser reads "1.0" as the number 1, so such a decimal passes here; the re-serialized
    // base then says "1" and the HMAC fails, still closed.
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw malformed('Signature-Input', `${name} must be a non-negative integer, got ${describe(value)}`);
    }
    return value;
  };
  const string = (name: 'nonce' | 'keyid' | 'alg' | 'tag'): string => {
    const value = parameters.get(name) as BareItem;
    if (typeof value !== 'string')
      throw malformed('Signature-Input', `${name} must be a string, got ${describe(value)}`);
    return value;
  };
  const params: SignatureParams = {
    created: integer('created'),
    expires: integer('expires'),
    nonce: string('nonce'),
    keyid: string('keyid'),
    alg: string('alg'),
    tag: string('tag'),
  };
  if (params.tag !== PROFILE_TAG) throw malformed('Signature-Input', `tag must be "${PROFILE_TAG}"`);
  if (params.alg !== ALG) throw malformed('Signature-Input', `alg must be "${ALG}"`);
  if (!KEYID_PATTERN.test(params.keyid))
    throw malformed('Signature-Input', 'keyid must match [A-Za-z0-9_-]{1,128}');
  if (!NONCE_PATTERN.test(params.nonce))
    throw malformed('Signature-Input', 'nonce must be 16-128 base64url characters');
  return params;
}

/**
 * Parses the `sig` member of both headers. Other labels are ignored (RFC 9421 allows several
 * signatures on one message). Throws `SphyrAuthError`: `missing_signature` when either header is
 * absent or blank, `malformed_signature` (message names the header and the problem) otherwise.
 */
export function parseSignatureHeaders(
  signatureInput: string | undefined,
  signature: string | undefined,
): ParsedSignature {
  if (signatureInput === undefined || signatureInput.trim() === '') {
    throw new SphyrAuthError('missing_signature', 'Signature-Input header is missing');
  }
  if (signature === undefined || signature.trim() === '') {
    throw new SphyrAuthError('missing_signature', 'Signature header is missing');
  }

  const inputDictionary = parseHeader('Signature-Input', signatureInput);
  const signatureDictionary = parseHeader('Signature', signature);

  const inputMember = inputDictionary.get(LABEL);
  if (inputMember === undefined) throw malformed('Signature-Input', `no "${LABEL}" member`);
  if (!isInnerList(inputMember)) throw malformed('Signature-Input', `"${LABEL}" must be an inner list`);
  const [items, parameters] = inputMember;
  const components = items.map(([value, itemParams], i) => {
    if (typeof value !== 'string') {
      throw malformed('Signature-Input', `component ${i + 1} must be a string, got ${describe(value)}`);
    }
    // Component parameters (;sf, ;key=…, ;bs, ;req, ;tr) are not part of this profile.
    if (itemParams.size > 0)
      throw malformed('Signature-Input', `component "${value}" must have no parameters`);
    return value;
  });
  const params = parseParams(parameters);

  const signatureMember = signatureDictionary.get(LABEL);
  if (signatureMember === undefined) throw malformed('Signature', `no "${LABEL}" member`);
  if (isInnerList(signatureMember) || !(signatureMember[0] instanceof ArrayBuffer)) {
    throw malformed('Signature', `"${LABEL}" must be a byte sequence`);
  }
  if (signatureMember[1].size > 0) throw malformed('Signature', `"${LABEL}" must have no parameters`);
  const bytes = Buffer.from(signatureMember[0]);
  if (bytes.length !== SIGNATURE_BYTES) {
    throw malformed(
      'Signature',
      `"${LABEL}" must be ${SIGNATURE_BYTES} bytes for ${ALG}, got ${bytes.length}`,
    );
  }

  let paramsValue: string;
  try {
    paramsValue = serializeSignatureParams(components, params);
  } catch (error) {
    // e.g. a component string the serializer refuses; cannot normally happen after a successful parse.
    throw malformed('Signature-Input', 'cannot be re-serialized', error);
  }
  return { components, params, paramsValue, signature: bytes };
}
