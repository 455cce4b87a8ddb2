import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { parseCredential } from '../../src/config/credential.js';
import { type GatewayProcess, runCli, spawnGateway } from '../helpers/cli.js';
import { LOOPBACK_TEST_POLICY, startTestGateway, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const MB = 1024 * 1024;

/** Peak resident memory of a process, from Linux's /proc (VmHWM, in kB). */
async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}

async function drain(res: Response): Promise<number> {
  let got = 0;
  for await (const chunk of Readable.fromWeb(res.body as never) as AsyncIterable<Buffer>) got += chunk.length;
  return got;
}

let target: TargetServer;
let gateway: GatewayProcess;
let client: GatewayClient;
let uploadSink: http.Server;
let uploadBytes = 0;

beforeAll(async () => {
  target = await startTarget();
  uploadSink = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
    });
    req.on('end', () => {
      uploadBytes = n;
      res.end(String(n));
    });
  });
  await new Promise<void>((resolve) => uploadSink.listen(0, '127.0.0.1', resolve));
  const dir = await tempDir();
  const dataDir = path.join(dir, 'data');
  const policy = path.join(dir, 'policy.json');
  await writeFile(policy, LOOPBACK_TEST_POLICY);
  const created = await runCli(['keys', 'create', '--name', 'big', '--data-dir', dataDir]);
  gateway = await spawnGateway(['--data-dir', dataDir, '--policy', policy]);
  client = new GatewayClient({
    gatewayUrl: gateway.url,
    credential: parseCredential(created.stdout, 't'),
    agent: { name: 'big' },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await target?.close();
  uploadSink?.close();
});

describe('bodies are streamed, not held in memory', () => {
  it('relays a 100 MB response while the gateway stays far below 100 MB of extra memory', async () => {
    // Warm up first, so the heap growth of a first relay (JIT, buffers, sockets) is not counted.
    await drain(await client.relay({ method: 'GET', url: `${target.url}/bytes/${16 * MB}` }));
    const before = await peakRssMb(gateway.child.pid as number);
    const res = await client.relay({ method: 'GET', url: `${target.url}/bytes/${100 * MB}` });
    let got = 0;
    for await (const chunk of Readable.fromWeb(res.body as never) as AsyncIterable<Buffer>)
      got += chunk.length;
    expect(got).toBe(100 * MB);
    const after = await peakRssMb(gateway.child.pid as number);
    expect(after - before).toBeLessThan(50);
  }, 120_000);

  it('relays a 64 MB upload, spooled to disk for its digest, without holding it in memory', async () => {
    const sink = `http://127.0.0.1:${(uploadSink.address() as AddressInfo).port}/upload`;
    await drain(await client.relay({ method: 'PUT', url: sink, body: new Uint8Array(8 * MB) }));
    const before = await peakRssMb(gateway.child.pid as number);
    const body = new Uint8Array(64 * MB).fill(0x62);
    const res = await client.relay({
      method: 'PUT',
      url: sink,
      body,
    });
    expect(await res.text()).toBe(String(64 * MB));
    expect(uploadBytes).toBe(64 * MB);
    const after = await peakRssMb(gateway.child.pid as number);
    expect(after - before).toBeLessThan(50);
  }, 120_000);
});

describe('upstream timeouts', () => {
  it('answers 504 upstream_timeout when a target sends no headers in time, and logs it', async () => {
    const silent = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const gw = await startTestGateway(undefined, { limits: { upstreamHeadersTimeoutMs: 300 } });
    try {
      await expect(
        gw
          .client()
          .relay({ method: 'GET', url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/` }),
      ).rejects.toMatchObject({ code: 'upstream_timeout' });
      const [record] = await gw.gateway.store.query({ limit: 1 });
      expect(record).toMatchObject({ outcome: 'error', reason: 'upstream_timeout', status: 504 });
    } finally {
      await gw.close();
      silent.closeAllConnections();
      silent.close();
    }
  });
});
