/**
 * @module Webhook secrets and signatures (DESIGN §3.9).
 *
 * A webhook secret is 64 lowercase hex characters (32 random bytes, hex-encoded). The HMAC key is
 * the secret's **ASCII bytes** (64 bytes), never the 32 bytes it encodes — exactly what the
 * documented Python verifier (`hmac.new(secret.encode(), …)`) and `verifyWebhook` do.
 *
 * The same key signs the Standard Webhooks headers. Standard Webhooks libraries take a secret
 * `whsec_<base64 of the key bytes>`, so we also show the secret as
 * `whsec_` + base64(ASCII bytes of the hex secret): `new Webhook(standardWebhooksSecret)` verifies
 * our `webhook-signature`. (Equivalently: `new Webhook(hexSecret, { format: 'raw' })`.)
 */

import { createHmac, randomBytes } from 'node:crypto';

export const WEBHOOK_SECRET_PATTERN = /^[0-9a-f]{64}$/;

export function newWebhookSecret(): string {
  return randomBytes(32).toString('hex');
}

export function newWebhookId(): string {
  return `wh_${randomBytes(12).toString('base64url')}`;
}

export function newDeliveryId(): string {
  return `whd_${randomBytes(12).toString('base64url')}`;
}

/** The Standard Webhooks form of a hex secret: `whsec_` + base64 of its ASCII bytes. */
export function standardWebhooksSecret(hexSecret: string): string {
  return `whsec_${Buffer.from(hexSecret, 'ascii').toString('base64')}`;
}

/** `X-Sphyr-Signature`: hex HMAC-SHA256 of the raw body keyed with the secret's ASCII bytes. */
export function sphyrSignature(key: Uint8Array, body: string): string {
  return createHmac('sha256', key).update(body, 'utf8').digest('hex');
}

/** `webhook-signature`: `v1,` + base64 HMAC-SHA256 of `${id}.${timestamp}.${body}`. */
export function standardSignature(
  key: Uint8Array,
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

/** All signature headers for one attempt. */
export function signatureHeaders(
  key: Uint8Array,
  eventId: string,
  timestampSeconds: number,
  body: string,
): Record<string, string> {
  return {
    'x-sphyr-signature': sphyrSignature(key, body),
    'webhook-id': eventId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': standardSignature(key, eventId, timestampSeconds, body),
  };
}
