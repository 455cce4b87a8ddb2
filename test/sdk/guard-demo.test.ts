import { execFile } from 'node:child_process';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClientSettings } from '../../src/config/local-config.js';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { selfSignedCert } from '../helpers/tls.js';

const run = promisify(execFile);

/**
 * The seed's guard-demo.mjs, byte for byte, run as a user would: credentials from
 * ~/.sphyr/config.json, fetch("https://api.example.com/data"). The gateway's resolver (the one
 * thing injected) answers api.example.com with 127.0.0.1, where an https server with a
 * certificate for that name listens on 443, so nothing leaves this machine.
 */
let gw: TestGateway;
let server: https.Server;
let home: string;
const seen: string[] = [];

beforeAll(async () => {
  const { key, cert: pem } = await selfSignedCert(['api.example.com']);
  server = https.createServer({ key, cert: pem }, (req, res) => {
    seen.push(`${req.method} ${req.headers.host}${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: 'from api.example.com', items: [1, 2, 3] }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(443, '127.0.0.1', resolve);
  });
  gw = await startTestGateway(undefined, {
    upstreamCa: pem,
    resolve: async (host) => {
      if (host === 'api.example.com') return ['127.0.0.1'];
      throw new Error('ENOTFOUND');
    },
  });
  home = await tempDir('sphyr-home-');
  await writeClientSettings({ home, env: {} }, { gatewayUrl: gw.gateway.url, credential: gw.credential });
});

afterAll(async () => {
  await gw?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

describe("the seed's guard-demo.mjs", () => {
  it('runs as written: fetch is signed, relayed and logged, and the data comes back', async () => {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'fixtures', 'sdk', 'guard-demo.mjs')], {
      env: { PATH: process.env.PATH, HOME: home },
    });
    expect(stdout).toContain("data: 'from api.example.com'");
    expect(seen).toEqual(['GET api.example.com/data']);
    const [record] = await gw.gateway.store.query({ limit: 1 });
    expect(record).toMatchObject({ kind: 'relay', outcome: 'allowed', host: 'api.example.com', status: 200 });
    expect(record?.signature).toMatch(/^sig=:/);
  });
});
