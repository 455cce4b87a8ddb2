import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Check an `X-Sphyr-Signature` header: hex HMAC-SHA256 of the raw body, keyed with the webhook's
 * 64-hex-character secret used as its ASCII bytes (DESIGN §3.9; the same as the seed's Python
 * verifier). Pass the body exactly as received — re-serialised JSON will not verify.
 * Constant time; any malformed input is simply `false`.
 *
 * @example
 * if (!verifyWebhook(rawBody, req.headers['x-sphyr-signature'], process.env.SPHYR_WEBHOOK_SECRET)) res.status(401);
 */
export function verifyWebhook(
  payload: string | Uint8Array,
  signature: string | string[] | undefined | null,
  secret: string,
): boolean {
  if (typeof signature !== 'string' || typeof secret !== 'string' || secret.length === 0) return false;
  const received = signature.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(received)) return false;
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload)
    .digest();
  return timingSafeEqual(expected, Buffer.from(received, 'hex'));
}
