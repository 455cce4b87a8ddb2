import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './gateway.js';

const run = promisify(execFile);

/** A throwaway self-signed certificate for `names` (first one is the CN), made with openssl. */
export async function selfSignedCert(names: string[]): Promise<{ key: Buffer; cert: string }> {
  const dir = await tempDir('sphyr-tls-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${names[0]}`,
    '-addext',
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
  ]);
  return { key: await readFile(key), cert: await readFile(cert, 'utf8') };
}
