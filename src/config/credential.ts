import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { SphyrConfigError } from '../errors.js';

const PREFIX = 'sphyr';
const KEY_ID = /^[A-Za-z0-9_-]+$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** DESIGN §3.1: at least 32 random bytes. */
export const MIN_SECRET_BYTES = 32;

/**
 * A parsed `sphyr.<keyid>.<secret>` credential. The secret never shows in `String()`, JSON or
 * `util.inspect`, so a credential that ends up in a log line or a stack trace stays a redaction.
 */
export class Credential {
  readonly keyId: string;
  readonly #secret: Uint8Array;
  readonly #text: string;

  constructor(keyId: string, secret: Uint8Array) {
    this.keyId = keyId;
    this.#secret = secret;
    this.#text = `${PREFIX}.${keyId}.${Buffer.from(secret).toString('base64url')}`;
  }

  /** The HMAC key: the secret's raw bytes. */
  get secret(): Uint8Array {
    return this.#secret;
  }

  /** The full credential string: only for writing it where the user asked for it. */
  reveal(): string {
    return this.#text;
  }

  toString(): string {
    return `${PREFIX}.${this.keyId}.[redacted]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return `Credential(${this.toString()})`;
  }
}

/**
 * Parse `sphyr.<keyid>.<secret>`. `source` names where it came from (a file or variable) so the
 * error can say which one to fix; the error never repeats the credential itself.
 */
export function parseCredential(text: string, source: string): Credential {
  const trimmed = text.trim();
  const parts = trimmed.split('.');
  const fix = `Run \`sphyr login\` or \`sphyr keys create\` for a new one.`;
  if (parts.length !== 3 || parts[0] !== PREFIX) {
    throw new SphyrConfigError(
      'credential_malformed',
      `${source}: the credential must look like sphyr.<keyid>.<secret> (three dot-separated parts starting with "sphyr"). ${fix}`,
    );
  }
  const [, keyId = '', secretText = ''] = parts;
  if (!KEY_ID.test(keyId)) {
    throw new SphyrConfigError(
      'credential_malformed',
      `${source}: the credential's key id may only hold letters, digits, "_" and "-". ${fix}`,
    );
  }
  if (!BASE64URL.test(secretText)) {
    throw new SphyrConfigError(
      'credential_malformed',
      `${source}: the credential's secret must be base64url without padding. ${fix}`,
    );
  }
  const secret = Buffer.from(secretText, 'base64url');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new SphyrConfigError(
      'credential_malformed',
      `${source}: the credential's secret decodes to ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are required. ${fix}`,
    );
  }
  return new Credential(keyId, new Uint8Array(secret));
}

/** A fresh credential for `keyId` with a 32-byte random secret. */
export function generateCredential(keyId: string): Credential {
  if (!KEY_ID.test(keyId)) throw new SphyrConfigError('credential_malformed', `invalid key id "${keyId}"`);
  return new Credential(keyId, new Uint8Array(randomBytes(MIN_SECRET_BYTES)));
}
