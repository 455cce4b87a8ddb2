/**
 * @module RFC 9530 `Content-Digest` with `sha-256`: computing it (whole or streamed) and parsing it.
 * The body is not a signature component, so the digest header stands in for it and the gateway
 * recomputes it from the bytes it actually received.
 */
import { createHash, type Hash } from 'node:crypto';
import { parseDictionary } from 'structured-headers';
import { SphyrAuthError } from '../errors.js';
import { MAX_HEADER_LENGTH } from './profile.js';

function format(sha256: Buffer): string {
  return `sha-256=:${sha256.toString('base64')}:`;
}

/** `Content-Digest` value of the empty body. */
export const EMPTY_CONTENT_DIGEST = 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:';

/** `Content-Digest` value (`sha-256=:<base64>:`) of the exact body bytes; a string body is hashed as UTF-8. */
export function contentDigest(body: Uint8Array | string): string {
  return format(createHash('sha256').update(body).digest());
}

/** Incremental digester for streamed bodies: feed every chunk, then call `digest()` once or more. */
export interface ContentDigester {
  update(chunk: Uint8Array): void;
  /** The `Content-Digest` value; after the first call no more chunks are accepted. */
  digest(): string;
}

/** Creates a streaming `Content-Digest` computer (same result as `contentDigest` over the concatenation). */
export function createContentDigester(): ContentDigester {
  const hash: Hash = createHash('sha256');
  let result: string | undefined;
  return {
    update(chunk) {
      if (result !== undefined) throw new Error('content digester: update() after digest()');
      hash.update(chunk);
    },
    digest() {
      // Hash#digest may only run once; cache so callers can ask again.
      result ??= format(hash.digest());
      return result;
    },
  };
}

function badDigest(message: string, cause?: unknown): SphyrAuthError {
  return new SphyrAuthError('bad_digest', `Content-Digest: ${message}`, { cause });
}

/**
 * Parses a `Content-Digest` value (an RFC 8941 dictionary of byte sequences) into algorithm → digest
 * bytes. Parameters on members are ignored. Throws `SphyrAuthError('bad_digest')` on anything that is
 * not such a dictionary. An empty value gives an empty map.
 */
export function parseContentDigest(header: string): Map<string, Buffer> {
  if (header.length > MAX_HEADER_LENGTH) throw badDigest(`longer than ${MAX_HEADER_LENGTH} characters`);
  let dictionary: ReturnType<typeof parseDictionary>;
  try {
    dictionary = parseDictionary(header);
  } catch (error) {
    throw badDigest('not a structured-field dictionary', error);
  }
  const out = new Map<string, Buffer>();
  for (const [algorithm, member] of dictionary) {
    const value = member[0];
    if (!(value instanceof ArrayBuffer)) throw badDigest(`member "${algorithm}" is not a byte sequence`);
    out.set(algorithm, Buffer.from(value));
  }
  return out;
}
