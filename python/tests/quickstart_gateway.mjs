/**
 * For python/tests/test_quickstart.py: a gateway (from this repo's build) whose resolver answers
 * api.example.com with 127.0.0.1, where an https server with a certificate for that name listens on
 * 443, so the README's Python quickstart runs as written and nothing leaves this machine (the same
 * arrangement as test/sdk/guard-demo.test.ts). Prints {"url","credential"} as one JSON line, then
 * one {"seen"} line per request the server gets; on the end of stdin it prints {"records"} (the
 * newest log records) and exits.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { generateCredential } from '../../dist/src/config/credential.js';
import { newKeyId } from '../../dist/src/gateway/ids.js';
import { startGateway } from '../../dist/src/gateway/server.js';
import { parsePolicy } from '../../dist/src/policy/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sphyr-quickstart-'));
// Removed however this process ends (a failed listen included).
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const keyFile = path.join(dir, 'key.pem');
const certFile = path.join(dir, 'cert.pem');
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=api.example.com',
    '-addext',
    'subjectAltName=DNS:api.example.com',
  ],
  { stdio: 'ignore' },
);
const cert = readFileSync(certFile, 'utf8');
const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

const server = https.createServer({ key: readFileSync(keyFile), cert }, (req, res) => {
  say({ seen: `${req.method} ${req.headers.host}${req.url}` });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ data: 'from api.example.com', items: [1, 2, 3] }));
});
// Port 443 is one per machine: another test suite's https server (test/sdk/guard-demo.test.ts) may
// hold it for a moment, so wait for it rather than fail at once.
for (let waited = 0; ; waited += 250) {
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(443, '127.0.0.1', resolve);
    });
    break;
  } catch (error) {
    if (error.code !== 'EADDRINUSE' || waited >= 60_000) throw error;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
const gateway = await startGateway({
  host: '127.0.0.1',
  port: 0,
  dataDir: path.join(dir, 'data'),
  policy: parsePolicy('{"unsafeAllowRanges": ["127.0.0.0/8"]}', 'quickstart policy'),
  upstreamCa: cert,
  resolve: async (host) => {
    if (host === 'api.example.com') return ['127.0.0.1'];
    throw Object.assign(new Error(`no such host ${host}`), { code: 'ENOTFOUND' });
  },
  warn: () => {},
});
const credential = generateCredential(newKeyId());
await gateway.store.createKey(credential.keyId, 'quickstart', credential.secret, Date.now());
say({ url: gateway.url, credential: credential.reveal() });

process.stdin.resume();
process.stdin.on('end', async () => {
  say({ records: await gateway.store.query({ limit: 5 }) });
  await gateway.close();
  server.closeAllConnections();
  server.close();
});
