// Issue 11, item 13: every axios copy the process loads is instrumented, wherever it lives and
// whenever it loads; one that cannot be is refused (or, failing open, reported) loudly, never silently
// direct. A real app tree in a temp dir: vendor packages with their own node_modules/axios (a copy of
// the real package), a program started from another folder, a real gateway and target on loopback.
// Needs `npm run build` (the program imports the built @sphyr/sdk from packages/sdk, as an installed app would).
import { execFile } from 'node:child_process';
import { cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const run = promisify(execFile);
const REGISTER = pathToFileURL(path.join(ROOT, 'packages', 'sdk', 'dist', 'register.js')).href;

let gw: TestGateway;
let target: TargetServer;
let tree: string;
let app: string;
let elsewhere: string;

/** `app/node_modules/<name>`: a vendor SDK with its own copy of axios in its own node_modules. */
async function vendor(name: string, type: 'commonjs' | 'module'): Promise<void> {
  const dir = path.join(app, 'node_modules', name);
  await mkdir(path.join(dir, 'node_modules'), { recursive: true });
  await cp(path.join(ROOT, 'node_modules', 'axios'), path.join(dir, 'node_modules', 'axios'), {
    recursive: true,
    dereference: true,
  });
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', type, main: 'index.js' }),
  );
  await writeFile(
    path.join(dir, 'index.js'),
    type === 'commonjs'
      ? "const axios = require('axios');\nexports.get = (url) => axios.get(url);\n"
      : "import axios from 'axios';\nexport const get = (url) => axios.get(url);\n",
  );
}

const REPORT = `
const report = (p) => p.then(
  (res) => console.log(JSON.stringify({ status: res.status, outcome: res.headers['sphyr-outcome'] ?? null })),
  (e) => console.log(JSON.stringify({ error: e.name, code: e.code })),
);`;

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway('{"unsafeAllowRanges": ["127.0.0.0/8"], "logFullUrl": true}');
  tree = await tempDir('sphyr-axios-copies-');
  app = path.join(tree, 'app');
  elsewhere = path.join(tree, 'elsewhere');
  await mkdir(path.join(app, 'node_modules', '@sphyr'), { recursive: true });
  await mkdir(elsewhere);
  // The SDK as installed, and axios's own dependencies hoisted beside the vendors, as npm lays them out.
  await symlink(path.join(ROOT, 'packages', 'sdk'), path.join(app, 'node_modules', '@sphyr', 'sdk'));
  for (const dep of ['follow-redirects', 'form-data', 'proxy-from-env', 'https-proxy-agent'])
    await symlink(path.join(ROOT, 'node_modules', dep), path.join(app, 'node_modules', dep));
  await vendor('vendor-cjs', 'commonjs');
  await vendor('vendor-esm', 'module');
  // Loads a vendor before or after autoInstrument(), as `mode` says: cjs-after, cjs-before, esm-after, esm-before.
  await writeFile(
    path.join(app, 'main.mjs'),
    `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const [mode, url] = process.argv.slice(2);
const load = async () => (mode.startsWith('cjs') ? require('vendor-cjs') : await import('vendor-esm'));
${REPORT}
let vendor = mode.endsWith('before') ? await load() : undefined;
const { autoInstrument } = await import('@sphyr/sdk');
autoInstrument();
vendor ??= await load();
await report(vendor.get(url));
`,
  );
  // The everyday shape: static imports, so the vendor's axios is loaded before autoInstrument() runs.
  await writeFile(
    path.join(app, 'static.mjs'),
    `import { autoInstrument } from '@sphyr/sdk';
import * as vendor from 'vendor-esm';
${REPORT}
autoInstrument();
await report(vendor.get(process.argv[2]));
`,
  );
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await target?.close();
  if (tree) await rm(tree, { recursive: true, force: true });
});

async function runApp(args: string[], env: Record<string, string> = {}) {
  const { stdout, stderr } = await run(process.execPath, args, {
    cwd: elsewhere, // neither the app's folder nor this repository
    env: {
      PATH: process.env.PATH,
      HOME: elsewhere,
      SPHYR_GATEWAY_URL: gw.gateway.url,
      SPHYR_CREDENTIAL: gw.credential.reveal(),
      SPHYR_INSTRUMENT_HOSTS: '127.0.0.1',
      ...env,
    },
  });
  return { result: JSON.parse(stdout.trim()) as Record<string, unknown>, stderr };
}

/** The gateway's log records and the target's requests for one path. */
async function traces(pathname: string) {
  const records = (await gw.gateway.store.query({ limit: 100 })).filter(
    (r) => r.url !== null && new URL(r.url).pathname === pathname,
  );
  return { records, targetSaw: target.seen.filter((s) => s.url === pathname).length };
}

describe("axios copies in a dependency's own node_modules, program started from another folder", () => {
  it.each([
    ['cjs-after', 'a CommonJS copy required after autoInstrument()'],
    ['cjs-before', 'a CommonJS copy required before autoInstrument()'],
    ['esm-after', 'an ESM copy imported after autoInstrument()'],
  ])('%s: %s is relayed, signed, and in the gateway log', async (mode) => {
    const pathname = `/echo/${mode}`;
    const { result } = await runApp([path.join(app, 'main.mjs'), mode, `${target.url}${pathname}`]);
    expect(result).toEqual({ status: 200, outcome: 'allowed' });
    const { records, targetSaw } = await traces(pathname);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ kind: 'relay', outcome: 'allowed', method: 'GET' });
    expect(records[0]?.signature).toMatch(/^sig=:/);
    expect(targetSaw).toBe(1);
  });

  it('an ESM copy statically imported before autoInstrument() is relayed under --import @sphyr/sdk/register', async () => {
    const pathname = '/echo/esm-static-register';
    const { result } = await runApp([
      `--import=${REGISTER}`,
      path.join(app, 'static.mjs'),
      `${target.url}${pathname}`,
    ]);
    expect(result).toEqual({ status: 200, outcome: 'allowed' });
    const { records, targetSaw } = await traces(pathname);
    expect(records).toHaveLength(1);
    expect(targetSaw).toBe(1);
  });

  it('an ESM copy loaded before autoInstrument() without the loader hook is refused, naming its path', async () => {
    const pathname = '/echo/esm-static';
    const { result, stderr } = await runApp([path.join(app, 'static.mjs'), `${target.url}${pathname}`]);
    expect(result).toEqual({ error: 'SphyrConfigError', code: 'axios_not_instrumented' });
    expect(stderr).toContain(path.join(app, 'node_modules', 'vendor-esm', 'node_modules', 'axios'));
    expect(stderr).toContain('--import');
    expect(await traces(pathname)).toEqual({ records: [], targetSaw: 0 });
  });

  it('failing open, that copy goes direct only with a loud warning naming its path', async () => {
    const pathname = '/echo/esm-static-fail-open';
    const { result, stderr } = await runApp([path.join(app, 'static.mjs'), `${target.url}${pathname}`], {
      SPHYR_FAIL_CLOSED: 'false',
    });
    expect(result).toEqual({ status: 200, outcome: null });
    expect(stderr).toContain(path.join(app, 'node_modules', 'vendor-esm', 'node_modules', 'axios'));
    expect(stderr).toContain('DIRECT');
    expect(await traces(pathname)).toEqual({ records: [], targetSaw: 1 });
  });
});
