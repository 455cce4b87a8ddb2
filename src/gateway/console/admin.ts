/**
 * @module Console accounts: the first admin, and scrypt password hashes (`scrypt$N$r$p$salt$hash`,
 * salt and hash base64url) checked in constant time.
 */

import { randomBytes, randomUUID, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import type { GatewayStore } from '../store/types.js';

export const ADMIN_USERNAME = 'admin';
const SCRYPT_N = 2 ** 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** 128·N·r is 32 MiB at N=2^15, r=8: just over Node's default limit. */
const SCRYPT_MAXMEM = 64 * 1024 * 1024;
/** Refuse absurd parameters from a tampered row rather than burn the CPU on them. */
const MAX_N = 2 ** 20;

function scryptAsync(
  password: string,
  salt: Buffer,
  length: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(password, salt, HASH_BYTES, {
    N: SCRYPT_N,
    r: SCRYPT_R,
    p: SCRYPT_P,
    maxmem: SCRYPT_MAXMEM,
  });
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** True when `password` matches `encoded`; a malformed hash never matches. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map((s) => Number.parseInt(s ?? '', 10)) as [number, number, number];
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (!(N > 1 && N <= MAX_N && (N & (N - 1)) === 0 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) return false;
  if (salt.length === 0 || expected.length < 16) return false;
  const actual = await scryptAsync(password, salt, expected.length, {
    N,
    r,
    p,
    maxmem: Math.max(SCRYPT_MAXMEM, 256 * N * r),
  });
  return timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;

/**
 * A hash of a random password with the current parameters: verifying against it when the user
 * does not exist makes a sign-in take the same time either way (no user enumeration by timing).
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(18).toString('base64url'));
  return dummyHash;
}

/** 20 characters of base64url: 120 random bits. */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

/**
 * Make the first console admin when there is none: password from the option (the CLI passes
 * SPHYR_ADMIN_PASSWORD there), else `env.SPHYR_ADMIN_PASSWORD` when an env is given, else
 * generated and returned once so the CLI can print it. A later start changes nothing.
 */
export async function ensureAdmin(
  store: GatewayStore,
  options: { password?: string; now: number; env?: Readonly<Record<string, string | undefined>> },
): Promise<{ username: string; generatedPassword?: string }> {
  // Warm the dummy hash now, so the first failed sign-in is not measurably faster.
  void dummyPasswordHash();
  if ((await store.countAdmins()) > 0) return { username: ADMIN_USERNAME };
  const given = options.password || options.env?.SPHYR_ADMIN_PASSWORD || undefined;
  const password = given ?? generatePassword();
  await store.createAdmin({
    id: `adm_${randomUUID()}`,
    username: ADMIN_USERNAME,
    passwordHash: await hashPassword(password),
    createdAt: options.now,
  });
  return given ? { username: ADMIN_USERNAME } : { username: ADMIN_USERNAME, generatedPassword: password };
}
