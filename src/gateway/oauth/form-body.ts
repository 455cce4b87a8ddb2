/**
 * @module Reading an `application/x-www-form-urlencoded` OAuth request body (RFC 6749 §3.2 and
 * Appendix B): bounded in size and time, UTF-8, parameters without a value treated as omitted and
 * repeated parameters refused (§3.1).
 */

import type { IncomingMessage } from 'node:http';
import { BodyTimeout, BodyTooLarge, readBoundedBody } from '../bounded-body.js';
import { OAuthError } from './respond.js';

export const MAX_FORM_BYTES = 8 * 1024;
export const FORM_TIMEOUT_MS = 10_000;

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** The parameters of a form POST, or an `invalid_request` OAuthError saying what is wrong. */
export async function readForm(
  req: IncomingMessage,
  maxBytes = MAX_FORM_BYTES,
  timeoutMs = FORM_TIMEOUT_MS,
): Promise<Map<string, string>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== FORM_TYPE) {
    throw new OAuthError('invalid_request', `the request body must be ${FORM_TYPE}`);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new OAuthError('invalid_request', `the request body is larger than ${maxBytes} bytes`);
  }
  const raw = await readBounded(req, maxBytes, timeoutMs);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new OAuthError('invalid_request', 'the request body is not valid UTF-8');
  }
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (value === '') continue;
    if (params.has(name)) {
      throw new OAuthError('invalid_request', `the parameter ${safeName(name)} appears more than once`);
    }
    params.set(name, value);
  }
  return params;
}

/** A parameter name fit to repeat in an error description (bounded, printable). */
function safeName(name: string): string {
  return JSON.stringify(name.replace(/[^\x20-\x7e]/g, '?').slice(0, 40));
}

/** The bounded read, in OAuth's terms: every failure is `invalid_request` saying which. */
async function readBounded(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  try {
    return await readBoundedBody(req, maxBytes, timeoutMs);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      throw new OAuthError('invalid_request', `the request body is larger than ${maxBytes} bytes`);
    }
    if (error instanceof BodyTimeout) {
      throw new OAuthError('invalid_request', 'the request body did not arrive in time');
    }
    throw new OAuthError('invalid_request', 'the request body could not be read');
  }
}
