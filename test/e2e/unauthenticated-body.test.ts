import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { type Credential, parseCredential } from '../../src/config/credential.js';
import { EMPTY_CONTENT_DIGEST } from '../../src/signing/index.js';
import { type GatewayProcess, runCli, spawnGateway } from '../helpers/cli.js';
import { LOOPBACK_TEST_POLICY, tempDir } from '../helpers/gateway.js';
import {
  dirBytes,
  fillDigest,
  peakRssMiB,
  type RawResponse,
  type RawUpload,
  rawUpload,
  type SignFor,
  signedHeaders,
  watchDirBytes,
} from '../helpers/raw-upload.js';

const MiB = 1024 * 1024;
/** The body of every unauthenticated request here: just under the gateway's 64 MiB limit. */
const BODY = 60 * MiB;

/**
 * The stated bounds, over a real socket against a real `sphyr gateway start` process:
 * - a request whose signature does not hold never reaches the spool: 0 bytes in its tmp dir;
 * - the gateway's peak RSS (VmHWM) grows by less than 24 MiB, well under the 60 MiB body.
 */
const SPOOL_BOUND_BYTES = 0;
const RSS_GROWTH_BOUND_MIB = 24;

let gateway: GatewayProcess;
let root: string;
let spoolDir: string;
let credential: Credential;
let agentId: string;
let sink: http.Server;
let sinkUrl: string;
let sinkBytes = 0;
let sinkRequests = 0;

beforeAll(async () => {
  // The relay target: counts what it receives and keeps nothing.
  sink = http.createServer((req, res) => {
    sinkRequests += 1;
    req.on('data', (c: Buffer) => {
      sinkBytes += c.length;
    });
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/upload`;

  root = await tempDir();
  const dataDir = path.join(root, 'data');
  spoolDir = path.join(dataDir, 'tmp');
  const policy = path.join(root, 'policy.json');
  await writeFile(policy, LOOPBACK_TEST_POLICY);
  const created = await runCli(['keys', 'create', '--name', 'body', '--data-dir', dataDir]);
  credential = parseCredential(created.stdout, 'keys create');
  gateway = await spawnGateway(['--data-dir', dataDir, '--policy', policy]);
  agentId = await new GatewayClient({
    gatewayUrl: gateway.url,
    credential,
    agent: { name: 'body' },
  }).agentId();
  // Warm up the refusal path (JIT, log writes), so its first-use growth is not counted below.
  await rawUpload(upload({ digest: fillDigest(MiB), key: randomBytes(32) }, MiB));
});

afterAll(async () => {
  await gateway?.stop();
  sink?.closeAllConnections();
  sink?.close();
  const { rm } = await import('node:fs/promises');
  if (root) await rm(root, { recursive: true, force: true });
});

/** A relay upload of `bytes` fill bytes, signed as `sign` says (defaults: our key, a real agent). */
function upload(sign: Partial<SignFor>, bytes = BODY, extra: Partial<RawUpload> = {}): RawUpload {
  const kind = sign.kind ?? 'relay';
  const p = sign.path ?? (kind === 'relay' ? '/v1/relay' : '/v1/check');
  return {
    gatewayUrl: gateway.url,
    path: p,
    headers: signedHeaders({
      gatewayUrl: gateway.url,
      kind,
      path: p,
      keyId: credential.keyId,
      key: credential.secret,
      digest: fillDigest(bytes),
      agentId,
      target: sinkUrl,
      ...sign,
    }),
    bodyBytes: bytes,
    ...extra,
  };
}

interface Measured {
  res: RawResponse;
  bodyBytes: number;
  spoolMaxBytes: number;
  rssGrowthMiB: number;
}

/**
 * Send `request` while sampling the spool dir; two thirds in, pause briefly so a gateway that is
 * spooling has written most of the body when the sampler looks.
 */
async function measure(request: RawUpload): Promise<Measured> {
  const pid = gateway.child.pid as number;
  const before = await peakRssMiB(pid);
  const watch = watchDirBytes(spoolDir);
  const pauseAt = Math.floor((request.bodyBytes * 2) / 3 / MiB) * MiB;
  let res: RawResponse;
  try {
    res = await rawUpload({
      ...request,
      onProgress: async (sent) => {
        if (sent === pauseAt) await new Promise((r) => setTimeout(r, 300));
      },
    });
  } finally {
    await watch.stop();
  }
  const spoolMaxBytes = watch.max();
  const rssGrowthMiB = (await peakRssMiB(pid)) - before;
  return { res, bodyBytes: request.bodyBytes, spoolMaxBytes, rssGrowthMiB };
}

/** The bounds above, and the answer came before the body: it was not read to decide. */
function expectBounded(m: Measured): void {
  expect(m.spoolMaxBytes).toBeLessThanOrEqual(SPOOL_BOUND_BYTES);
  expect(m.rssGrowthMiB).toBeLessThan(RSS_GROWTH_BOUND_MIB);
  // Before the body ended (the upload pauses two thirds in, so even a busy machine answers by then).
  expect(m.res.answeredAtBytes).toBeLessThan(m.bodyBytes);
}

/** Waits (up to 10 s) until the gateway has deleted every spool file; the answer may come first. */
async function spoolEmptied(): Promise<number> {
  for (let i = 0; i < 1000 && (await dirBytes(spoolDir)) > 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  return dirBytes(spoolDir);
}

describe('a body is read only after its signature holds (60 MiB, real gateway process)', () => {
  it('a bogus signature under an existing key id: 401 bad_signature, nothing spooled, RSS bounded', async () => {
    const m = await measure(upload({ key: randomBytes(32) }));
    expect(m.res.status).toBe(401);
    expect(m.res.code).toBe('bad_signature');
    expectBounded(m);
  }, 120_000);

  it('an unknown key id: 401 unknown_key, nothing spooled', async () => {
    const m = await measure(upload({ keyId: 'key_nobody_has_this', key: randomBytes(32) }));
    expect(m.res.status).toBe(401);
    expect(m.res.code).toBe('unknown_key');
    expectBounded(m);
  }, 120_000);

  it('a bogus signature with a chunked body (no Content-Length): 401, nothing spooled', async () => {
    const m = await measure(upload({ key: randomBytes(32) }, BODY, { chunked: true }));
    expect(m.res.status).toBe(401);
    expect(m.res.code).toBe('bad_signature');
    expectBounded(m);
  }, 120_000);

  it('a bogus signature with a chunked body that does not end: discarded up to the body limit, then closed', async () => {
    const endless = 200 * MiB;
    const m = await measure(upload({ key: randomBytes(32) }, endless, { chunked: true }));
    expect(m.res.status).toBe(401);
    expect(m.res.code).toBe('bad_signature');
    expectBounded(m);
    // The gateway stops taking bytes past its 64 MiB body limit (plus what sockets buffer).
    expect(m.res.sentBytes).toBeLessThan(100 * MiB);
  }, 120_000);

  it('a valid signature for an unknown agent: 401 agent_expired, nothing spooled', async () => {
    const m = await measure(upload({ kind: 'agent', path: '/v1/check', agentId: 'agt_not_registered' }));
    expect(m.res.status).toBe(401);
    expect(m.res.code).toBe('agent_expired');
    expectBounded(m);
  }, 120_000);

  it('a replayed valid request: 401 replay, its body not spooled again', async () => {
    const request = upload({});
    const first = await rawUpload(request);
    expect(first.status).toBe(200);
    expect(sinkBytes).toBeGreaterThanOrEqual(BODY);
    expect(await spoolEmptied()).toBe(0);
    const relayed = sinkRequests;
    const m = await measure(request);
    expect(m.res.status).toBe(401);
    expect(m.res.code).toBe('replay');
    expectBounded(m);
    expect(sinkRequests).toBe(relayed);
  }, 120_000);

  it('a valid signature over another body: the body is read then (to disk), refused bad_digest, spool emptied', async () => {
    const relayed = sinkRequests;
    const m = await measure(upload({ digest: EMPTY_CONTENT_DIGEST }));
    expect(m.res.status).toBe(401);
    expect(m.res.code).toBe('bad_digest');
    // Signed by the key holder, so reading it is allowed; it still goes to disk, not memory.
    expect(m.rssGrowthMiB).toBeLessThan(RSS_GROWTH_BOUND_MIB);
    expect(m.res.answeredAtBytes).toBe(BODY);
    expect(await spoolEmptied()).toBe(0);
    expect(sinkRequests).toBe(relayed);
  }, 120_000);

  it('a signed Content-Length over the limit: 413 before any byte is spooled', async () => {
    const m = await measure(upload({}, 65 * MiB));
    expect(m.res.status).toBe(413);
    expect(m.res.code).toBe('body_too_large');
    expectBounded(m);
  }, 120_000);
});
