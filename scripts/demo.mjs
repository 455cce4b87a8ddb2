#!/usr/bin/env node
// The README's first command: a local gateway on the embedded default (SQLite, no other service),
// one key, one allowed and one SSRF-blocked request through it, and both log records. The data dir
// (it holds a master.key) is removed at the end unless `npm run demo -- --keep` asks to keep it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayClient, parseCredential } from '@sphyr/sdk';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sphyr = path.join(root, 'bin', 'sphyr.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'sphyr-demo-'));
const dataDir = path.join(work, 'data');
const policyFile = path.join(work, 'policy.json');
const keep = process.argv.includes('--keep');
// Ctrl-C (or a failure before the try below) must not leave a master.key in the temp folder.
const removeWork = () => {
  if (!keep) rmSync(work, { recursive: true, force: true });
};
let gateway;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, async () => {
    // The gateway first: it must not write into the folder after it is removed.
    if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
      gateway.kill('SIGTERM');
      await new Promise((resolve) => gateway.once('exit', resolve));
    }
    removeWork();
    process.exit(130);
  });
}
process.once('exit', removeWork);
const step = (text) => process.stdout.write(`\n== ${text}\n`);
const cli = (...args) => {
  const result = spawnSync(process.execPath, [sphyr, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`sphyr ${args.join(' ')} failed:\n${result.stderr}`);
  return result;
};

// A stand-in for "an API your agent calls", on this machine. The gateway blocks loopback by
// default, so the demo policy opens 127.0.0.0/8 and nothing else.
const target = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ hello: 'from the target', path: req.url }));
});
await new Promise((resolve) => target.listen(0, '127.0.0.1', resolve));
const targetUrl = `http://127.0.0.1:${target.address().port}/v1/data`;
writeFileSync(policyFile, `${JSON.stringify({ unsafeAllowRanges: ['127.0.0.0/8'] }, null, 2)}\n`);

step(`start the gateway (data dir ${dataDir})`);
gateway = spawn(
  process.execPath,
  [sphyr, 'gateway', 'start', '--port', '0', '--data-dir', dataDir, '--policy', policyFile],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const gatewayUrl = await new Promise((resolve, reject) => {
  gateway.stdout.once('data', (chunk) => resolve(String(chunk).trim()));
  gateway.once('exit', (code) => reject(new Error(`the gateway exited with ${code}`)));
});

try {
  step('create a key: sphyr keys create --name demo');
  const credential = parseCredential(
    cli('keys', 'create', '--name', 'demo', '--data-dir', dataDir).stdout,
    'sphyr keys create',
  );
  console.log(`credential for key ${credential.keyId} (secret not shown)`);

  const client = new GatewayClient({ gatewayUrl, credential, agent: { name: 'demo-agent' } });

  step(`allowed: GET ${targetUrl} through ${gatewayUrl}/v1/relay`);
  const ok = await client.relay({ method: 'GET', url: targetUrl });
  console.log(
    `HTTP ${ok.status}, Sphyr-Outcome: ${ok.headers.get('sphyr-outcome')}, body: ${await ok.text()}`,
  );

  step('blocked: GET http://169.254.169.254/latest/meta-data/ (cloud metadata)');
  try {
    await client.relay({ method: 'GET', url: 'http://169.254.169.254/latest/meta-data/' });
    throw new Error('the metadata request was not blocked');
  } catch (error) {
    if (error.code !== 'ssrf_metadata') throw error;
    console.log(`${error.name} ${error.code}: ${error.message}`);
  }

  step('the log: sphyr log tail');
  process.stdout.write(cli('log', 'tail', '--data-dir', dataDir).stdout);
  step('the chain: sphyr log verify');
  process.stdout.write(cli('log', 'verify', '--data-dir', dataDir).stderr);
} finally {
  gateway.kill('SIGTERM');
  await new Promise((resolve) => gateway.once('exit', resolve));
  target.close();
  if (keep) console.log(`\nkept ${work} (remove it when done: it holds the gateway's master.key)`);
  else removeWork();
}
