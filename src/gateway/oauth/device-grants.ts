/**
 * @module RFC 8628 device grants: create one, find it by the code a person types, approve or deny
 * it. Shared by the OAuth endpoints (which create and redeem grants) and the console's /device
 * page (which decides them). Device codes are stored only as SHA-256; the credential an approval
 * creates is sealed in the grant until the token endpoint hands it over, once.
 */

import { createHash, randomBytes, randomInt } from 'node:crypto';
import { generateCredential } from '../../config/credential.js';
import type { GatewayContext } from '../context.js';
import { newEvent } from '../events.js';
import { newKeyId } from '../ids.js';
import type { DeviceGrantRecord } from '../store/types.js';

/** RFC 8628 §6.1: consonants only, no vowels (no words), no look-alikes. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const DEVICE_CODE_TTL_SECONDS = 600;
export const DEFAULT_INTERVAL_SECONDS = 5;

export function hashDeviceCode(deviceCode: string): string {
  return createHash('sha256').update(deviceCode).digest('hex');
}

/** XXXX-XXXX from the alphabet, uniformly (randomInt, no modulo bias). */
export function generateUserCode(): string {
  let code = '';
  for (let i = 0; i < 8; i += 1) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * What a person typed → the canonical XXXX-XXXX, or undefined. Case, spaces and dashes are
 * forgiven (RFC 8628 §6.1); anything outside the alphabet is not a code.
 */
export function normalizeUserCode(input: string): string | undefined {
  const bare = input.toUpperCase().replace(/[\s-]/g, '');
  if (bare.length !== 8) return undefined;
  for (const ch of bare) if (!USER_CODE_ALPHABET.includes(ch)) return undefined;
  return `${bare.slice(0, 4)}-${bare.slice(4)}`;
}

export interface NewGrantRequest {
  clientId: string;
  scope: string;
  requesterIp: string;
  requesterAgent: string;
  deviceName: string;
}

/** A new pending grant; returns the device_code (shown once, to the client) and the record. */
export async function createDeviceGrant(
  ctx: GatewayContext,
  request: NewGrantRequest,
): Promise<{ deviceCode: string; grant: DeviceGrantRecord }> {
  const now = ctx.now();
  for (let attempt = 0; ; attempt += 1) {
    const deviceCode = randomBytes(32).toString('base64url');
    const grant: DeviceGrantRecord = {
      deviceCodeHash: hashDeviceCode(deviceCode),
      userCode: generateUserCode(),
      ...request,
      createdAt: now,
      expiresAt: now + DEVICE_CODE_TTL_SECONDS * 1000,
      intervalSeconds: DEFAULT_INTERVAL_SECONDS,
      lastPollAt: null,
      status: 'pending',
      decidedBy: null,
      decidedAt: null,
      keyId: null,
      sealedCredential: null,
    };
    try {
      await ctx.store.putDeviceGrant(grant);
      return { deviceCode, grant };
    } catch (error) {
      // A user-code collision (unique index): draw again, a few times at most.
      if (attempt >= 4) throw error;
    }
  }
}

/** The pending, unexpired grant for a typed code; undefined for unknown, decided or expired ones. */
export async function findGrantForApproval(
  ctx: GatewayContext,
  typed: string,
): Promise<DeviceGrantRecord | undefined> {
  const userCode = normalizeUserCode(typed);
  if (!userCode) return undefined;
  const grant = await ctx.store.getDeviceGrantByUserCode(userCode);
  if (grant?.status !== 'pending' || grant.expiresAt <= ctx.now()) return undefined;
  return grant;
}

/**
 * Approve: create a key named after the device and seal its credential into the grant. The
 * credential is returned to nobody here; only the token endpoint releases it, once.
 */
export async function approveGrant(
  ctx: GatewayContext,
  grant: DeviceGrantRecord,
  adminId: string,
): Promise<{ keyId: string }> {
  const now = ctx.now();
  const credential = generateCredential(newKeyId());
  const name = `${grant.deviceName || grant.clientId} (device login ${new Date(now).toISOString().slice(0, 10)})`;
  await ctx.store.createKey(credential.keyId, name.slice(0, 200), credential.secret, now);
  const sealed = ctx.store.sealSecret(Buffer.from(credential.reveal()), `device:${grant.deviceCodeHash}`);
  await ctx.store.updateDeviceGrant(grant.deviceCodeHash, {
    status: 'approved',
    decidedBy: adminId,
    decidedAt: now,
    keyId: credential.keyId,
    sealedCredential: sealed,
  });
  ctx.events?.emit(
    newEvent('device.approved', now, {
      keyId: credential.keyId,
      clientId: grant.clientId,
      device: grant.deviceName,
    }),
  );
  return { keyId: credential.keyId };
}

export async function denyGrant(
  ctx: GatewayContext,
  grant: DeviceGrantRecord,
  adminId: string,
): Promise<void> {
  await ctx.store.updateDeviceGrant(grant.deviceCodeHash, {
    status: 'denied',
    decidedBy: adminId,
    decidedAt: ctx.now(),
  });
}

/** The credential of an approved grant, for the token endpoint; the grant is then consumed. */
export async function redeemGrant(
  ctx: GatewayContext,
  grant: DeviceGrantRecord,
): Promise<string | undefined> {
  if (grant.status !== 'approved' || !grant.sealedCredential) return undefined;
  const credential = Buffer.from(
    ctx.store.openSecret(grant.sealedCredential, `device:${grant.deviceCodeHash}`),
  ).toString();
  await ctx.store.updateDeviceGrant(grant.deviceCodeHash, { status: 'consumed', sealedCredential: null });
  return credential;
}
