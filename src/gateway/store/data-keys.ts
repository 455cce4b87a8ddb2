import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { SphyrConfigError } from '../../errors.js';
import { assertPrivateKeyFile } from './data-dir.js';

const MASTER_FILE = 'master.key';

/** Keys derived from the data dir's master key, one per purpose. */
export interface DataKeys {
  /** AES-256-GCM key for API secrets at rest (the gateway must recompute HMACs, so it cannot hash them). */
  secretBox: Buffer;
  /** HMAC key chaining log records. */
  logChain: Buffer;
  /** HMAC key authenticating what `log verify` relies on besides the records: the head and the purge anchor. */
  logMeta: Buffer;
  /** HMAC key for `url_hash`. */
  urlHash: Buffer;
}

function derive(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `sphyr ${purpose} v1`, 32));
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).size > 0;
  } catch {
    return false;
  }
}

/**
 * Read `master.key` in the data dir, creating it (0600) on first start; `created` says it was made
 * now. A key other users can open is refused, and so is a missing key beside an existing database
 * (a new key would leave every secret undecryptable and every record unverifiable).
 */
export async function loadDataKeys(
  dataDir: string,
  database: string,
): Promise<{ keys: DataKeys; created: boolean }> {
  const file = path.join(dataDir, MASTER_FILE);
  let master: Buffer;
  let created = false;
  try {
    await assertPrivateKeyFile(file);
    master = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (error instanceof SphyrConfigError) throw error;
      throw new SphyrConfigError('data_dir_unreadable', `${file}: cannot be read; check its permissions`, {
        cause: error,
      });
    }
    if (await exists(database)) {
      throw new SphyrConfigError(
        'master_key_missing',
        `${file} is missing but ${database} exists; restore master.key from the backup taken with it`,
      );
    }
    master = randomBytes(32);
    await writeFileAtomic(file, `${master.toString('base64url')}\n`, { mode: 0o600 });
    created = true;
  }
  if (master.length !== 32) {
    throw new SphyrConfigError(
      'data_dir_corrupt',
      `${file}: must hold 32 base64url bytes; restore it from backup`,
    );
  }
  return {
    keys: {
      secretBox: derive(master, 'secret box'),
      logChain: derive(master, 'log chain'),
      logMeta: derive(master, 'log meta'),
      urlHash: derive(master, 'url hash'),
    },
    created,
  };
}

/** AES-256-GCM: iv(12) | tag(16) | ciphertext. `aad` binds the ciphertext to its key id. */
export function seal(key: Buffer, plaintext: Uint8Array, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

export function open(key: Buffer, sealed: Buffer, aad: string): Uint8Array {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]));
}
