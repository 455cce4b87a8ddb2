// Issue 11, item 13 (review F9): every thread of the process is guarded. A worker started after
// autoInstrument() (or under --import @sphyr/sdk/register, whose --import Node 20 does not run in
// workers) first instruments itself with the same settings, then runs its own code: file, file URL,
// eval and data: URL workers, and workers started by workers. A Worker class taken before
// autoInstrument() ran cannot be; its thread is refused (terminated, with an error) when failing
// closed and reported loudly when failing open. Real worker threads in a real program from dist/
// (needs `npm run build`), a real gateway and target on loopback.
import { execFile } from 'node:child_process';
import { rm, symlink, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const run = promisify(execFile);
const SDK = pathToFileURL(path.join(ROOT, 'dist', 'src', 'index.js')).href;
const REGISTER = pathToFileURL(path.join(ROOT, 'dist', 'src', 'sdk', 'register.js')).href;

let gw: TestGateway;
let target: TargetServer;
let dir: string;

/** What every worker does: axios and fetch to the target, and say whether the gateway relayed each. */
const WORKER_BODY = `
const report = async (axios, parentPort, { base, tag }) => {
  const outcome = (r) => (typeof r.headers.get === 'function' ? r.headers.get('sphyr-outcome') : r.headers['sphyr-outcome']) ?? null;
  const out = {};
  for (const [name, call] of [
    ['axios', () => axios ? axios.get(base + '/echo/' + tag + '-axios') : undefined],
    ['fetch', () => fetch(base + '/echo/' + tag + '-fetch')],
  ]) {
    try {
      const res = await call();
      if (res) out[name] = outcome(res);
    } catch (e) {
      out[name] = { error: e.name, code: e.code };
    }
  }
  parentPort.postMessage(out);
};`;

const CJS_WORKER = `${WORKER_BODY}
const { parentPort, workerData } = require('node:worker_threads');
report(require('axios'), parentPort, workerData);
`;

const ESM_WORKER = `${WORKER_BODY}
import axios from 'axios';
import { parentPort, workerData } from 'node:worker_threads';
await report(axios, parentPort, workerData);
`;

/** A worker that starts a worker (eval) and passes on what it said. */
const NESTING_WORKER = `
const { Worker, parentPort, workerData } = require('node:worker_threads');
const inner = new Worker(${JSON.stringify(CJS_WORKER)}, { eval: true, workerData: { ...workerData, tag: workerData.tag + '-inner' } });
inner.once('message', (m) => { parentPort.postMessage(m); inner.terminate(); });
inner.once('error', (e) => parentPort.postMessage({ innerError: e.name, code: e.code }));
`;

/** The program: instruments itself (unless told it runs under --import), then starts each kind of worker. */
const MAIN = `
import { pathToFileURL } from 'node:url';
const [mode, base, dir] = process.argv.slice(2);
if (mode !== 'register') (await import(${JSON.stringify(SDK)})).autoInstrument();
const { Worker } = await import('node:worker_threads');
const start = (filename, options, tag) => new Promise((resolve) => {
  const worker = new Worker(filename, { ...options, workerData: { base, tag } });
  worker.once('message', (m) => { resolve(m); worker.terminate(); });
  worker.once('error', (e) => resolve({ workerError: e.name, code: e.code }));
});
const data = 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(WORKER_BODY)} +
  "\\nimport { parentPort, workerData } from 'node:worker_threads';\\nawait report(undefined, parentPort, workerData);");
const results = {
  eval: await start(${JSON.stringify(CJS_WORKER)}, { eval: true }, mode + '-eval'),
  file: await start(dir + '/worker.cjs', {}, mode + '-file'),
  url: await start(pathToFileURL(dir + '/worker.mjs'), {}, mode + '-url'),
  data: await start(new URL(data), {}, mode + '-data'),
  nested: await start(dir + '/nesting.cjs', {}, mode + '-nested'),
};
console.log(JSON.stringify(results));
`;

/** A Worker class taken before autoInstrument() ran: its threads cannot be instrumented. */
const CAPTURED = `
const { Worker } = require('node:worker_threads');
(async () => {
  (await import(${JSON.stringify(SDK)})).autoInstrument();
  const worker = new Worker(${JSON.stringify(CJS_WORKER)}, { eval: true, workerData: { base: process.argv[2], tag: process.argv[3] } });
  const result = await new Promise((resolve) => {
    worker.once('message', (m) => { resolve(m); worker.terminate(); });
    worker.once('error', (e) => resolve({ workerError: e.name, code: e.code }));
  });
  console.log(JSON.stringify(result));
})();
`;

/** The same options in the worker, the parent's own `warn` included: failing open, the worker's warning comes back. */
const WARNS = `
const { autoInstrument } = await import(${JSON.stringify(SDK)});
const [base, unreachable] = process.argv.slice(2);
const warnings = [];
autoInstrument({ gatewayUrl: unreachable, failClosed: false, warn: (m) => warnings.push(m) });
const { Worker } = await import('node:worker_threads');
const worker = new Worker("fetch(require('node:worker_threads').workerData + '/echo/warned-worker').then((r) => r.text()).then(() => require('node:worker_threads').parentPort.postMessage('done'))", { eval: true, workerData: base });
await new Promise((resolve) => worker.once('message', resolve));
await worker.terminate();
await new Promise((resolve) => setTimeout(resolve, 200)); // the warning travels on a BroadcastChannel
console.log(JSON.stringify({ warnings }));
`;

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway(
    '{"unsafeAllowRanges": ["127.0.0.0/8"], "logFullUrl": true, "rateLimits": {"perAgent": 1000}}',
  );
  dir = await tempDir('sphyr-workers-');
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  await writeFile(path.join(dir, 'worker.cjs'), CJS_WORKER);
  await writeFile(path.join(dir, 'worker.mjs'), ESM_WORKER);
  await writeFile(path.join(dir, 'nesting.cjs'), NESTING_WORKER);
  await writeFile(path.join(dir, 'main.mjs'), MAIN);
  await writeFile(path.join(dir, 'captured.cjs'), CAPTURED);
  await writeFile(path.join(dir, 'warns.mjs'), WARNS);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await target?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function runNode(args: string[], env: Record<string, string> = {}) {
  const { stdout, stderr } = await run(process.execPath, args, {
    cwd: dir,
    timeout: 30_000,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      SPHYR_GATEWAY_URL: gw.gateway.url,
      SPHYR_CREDENTIAL: gw.credential.reveal(),
      SPHYR_INSTRUMENT_HOSTS: '127.0.0.1',
      ...env,
    },
  });
  return { result: JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>, stderr };
}

/** For each path: how many gateway log records, and how many times the target saw it. */
async function traces(paths: string[]) {
  const records = await gw.gateway.store.query({ limit: 200 });
  return Object.fromEntries(
    paths.map((p) => [
      p,
      {
        logged: records.filter((r) => r.url !== null && new URL(r.url).pathname === p).length,
        targetSaw: target.seen.filter((s) => s.url === p).length,
      },
    ]),
  );
}

const RELAYED = { axios: 'allowed', fetch: 'allowed' };

describe.each([
  ['autoInstrument() in the main thread', 'call'],
  ['node --import @sphyr/sdk/register', 'register'],
])('worker threads under %s', (_name, mode) => {
  it('file, file URL, eval, data: URL and nested workers relay axios and fetch, each logged once', async () => {
    const args = mode === 'register' ? [`--import=${REGISTER}`] : [];
    const { result } = await runNode([...args, path.join(dir, 'main.mjs'), mode, target.url, dir]);
    expect(result).toEqual({
      eval: RELAYED,
      file: RELAYED,
      url: RELAYED,
      data: { fetch: 'allowed' },
      nested: RELAYED,
    });
    const paths = ['eval', 'file', 'url', 'nested-inner'].flatMap((k) => [
      `/echo/${mode}-${k}-axios`,
      `/echo/${mode}-${k}-fetch`,
    ]);
    paths.push(`/echo/${mode}-data-fetch`);
    const seen = await traces(paths);
    for (const p of paths) expect(seen[p], p).toEqual({ logged: 1, targetSaw: 1 });
  });
});

it("a worker gets the parent's options, its `warn` too: failing open, the worker's warning reaches the parent's warn", async () => {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const { result } = await runNode([path.join(dir, 'warns.mjs'), target.url, `http://127.0.0.1:${port}`]);
  const warnings = result.warnings as string[];
  expect(
    warnings.some((w) => /^worker thread \d+: .*DIRECT/.test(w)),
    warnings.join('\n'),
  ).toBe(true);
  expect(target.seen.filter((s) => s.url === '/echo/warned-worker')).toHaveLength(1);
});

describe('a Worker class taken before autoInstrument() ran', () => {
  it('failing closed: its thread is refused with worker_not_instrumented, and nothing reaches the target', async () => {
    const tag = 'captured-closed';
    const { result, stderr } = await runNode([path.join(dir, 'captured.cjs'), target.url, tag]);
    expect(result).toEqual({ workerError: 'SphyrConfigError', code: 'worker_not_instrumented' });
    expect(stderr).toContain('not instrumented');
    const seen = await traces([`/echo/${tag}-axios`, `/echo/${tag}-fetch`]);
    expect(Object.values(seen)).toEqual([
      { logged: 0, targetSaw: 0 },
      { logged: 0, targetSaw: 0 },
    ]);
  });

  it('failing open: it runs, direct, with a loud warning', async () => {
    const tag = 'captured-open';
    const { result, stderr } = await runNode([path.join(dir, 'captured.cjs'), target.url, tag], {
      SPHYR_FAIL_CLOSED: 'false',
    });
    expect(result).toEqual({ axios: null, fetch: null });
    expect(stderr).toContain('DIRECT');
  });
});
