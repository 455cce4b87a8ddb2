// Issue 11, item 13 (review F9): an axios copy that no module hook can reach, because a vendor
// shipped it inside a minified bundle, is never silently direct. The minifier drops the function
// names a stack check looks for, so the guard also knows axios by what a minifier keeps: the default
// `User-Agent: axios/<version>` on a request that did not come through the relay. Refused when
// failing closed, a loud warning naming the bundle when failing open. The bundles are made here with
// rolldown from the installed axios; the programs run from dist/ (needs `npm run build`).
import { execFile } from 'node:child_process';
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { rolldown } from 'rolldown';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const run = promisify(execFile);
const SDK = path.join(ROOT, 'dist', 'src', 'index.js');

let gw: TestGateway;
let target: TargetServer;
let dir: string;
const bundles: Record<'cjs' | 'esm', string> = { cjs: '', esm: '' };

/** A vendor SDK with axios inside, minified, as `format`. */
async function bundle(format: 'cjs' | 'esm'): Promise<string> {
  const entry = path.join(dir, `vendor-entry.${format === 'cjs' ? 'cjs' : 'mjs'}`);
  await writeFile(
    entry,
    format === 'cjs'
      ? "const axios = require('axios');\nmodule.exports = { get: (url) => axios.get(url) };\n"
      : "import axios from 'axios';\nexport const get = (url) => axios.get(url);\n",
  );
  const file = path.join(dir, 'vendor', `vendor-sdk.min.${format === 'cjs' ? 'cjs' : 'mjs'}`);
  const build = await rolldown({
    input: entry,
    platform: 'node',
    logLevel: 'silent',
    external: isBuiltin,
  });
  await build.write({ file, format, minify: true });
  await build.close();
  return file;
}

/** Node's own modules stay imports, as in any bundle for Node. */
function isBuiltin(id: string): boolean {
  return id.startsWith('node:') || builtinModules.includes(id);
}

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway('{"unsafeAllowRanges": ["127.0.0.0/8"], "logFullUrl": true}');
  dir = await tempDir('sphyr-axios-bundle-');
  // The bundler resolves axios (and what axios needs) from the installed packages.
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  bundles.cjs = await bundle('cjs');
  bundles.esm = await bundle('esm');
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await target?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A program that instruments itself, then loads the vendor bundle and calls `url` with it. */
async function runProgram(bundleFile: string, url: string, env: Record<string, string> = {}) {
  const program = path.join(dir, `main-${path.basename(bundleFile)}-${Date.now()}.mjs`);
  await writeFile(
    program,
    `import { createRequire } from 'node:module';
const { autoInstrument } = await import(${JSON.stringify(SDK)});
autoInstrument();
const file = ${JSON.stringify(bundleFile)};
const vendor = file.endsWith('.cjs') ? createRequire(import.meta.url)(file) : await import(file);
await vendor.get(${JSON.stringify(url)}).then(
  (res) => console.log(JSON.stringify({ status: res.status, outcome: res.headers['sphyr-outcome'] ?? null })),
  (e) => console.log(JSON.stringify({ error: e.name, code: e.code })),
);
`,
  );
  const { stdout, stderr } = await run(process.execPath, [program], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      SPHYR_GATEWAY_URL: gw.gateway.url,
      SPHYR_CREDENTIAL: gw.credential.reveal(),
      SPHYR_INSTRUMENT_HOSTS: '127.0.0.1',
      ...env,
    },
  });
  return { result: JSON.parse(stdout.trim()) as Record<string, unknown>, stderr };
}

async function traces(pathname: string) {
  const records = (await gw.gateway.store.query({ limit: 100 })).filter(
    (r) => r.url !== null && new URL(r.url).pathname === pathname,
  );
  return { logged: records.length, targetSaw: target.seen.filter((s) => s.url === pathname).length };
}

describe('an axios copy inside a minified vendor bundle', () => {
  it('the bundles really are minified: the name a stack check looks for is gone', async () => {
    for (const file of Object.values(bundles)) {
      const text = await readFile(file, 'utf8');
      expect(text).not.toContain('dispatchHttpRequest');
      expect(text).toContain('axios/'); // its default User-Agent survives
    }
  });

  it.each(['cjs', 'esm'] as const)(
    'a %s bundle is refused when failing closed, naming the bundle; nothing reaches the target',
    async (format) => {
      const pathname = `/echo/bundle-closed-${format}`;
      const { result, stderr } = await runProgram(bundles[format], `${target.url}${pathname}`);
      expect(result).toEqual({ error: 'SphyrConfigError', code: 'axios_not_instrumented' });
      expect(stderr).toContain(bundles[format]);
      expect(await traces(pathname)).toEqual({ logged: 0, targetSaw: 0 });
    },
  );

  it('failing open, it goes direct only with a loud warning naming the bundle', async () => {
    const pathname = '/echo/bundle-open';
    const { result, stderr } = await runProgram(bundles.cjs, `${target.url}${pathname}`, {
      SPHYR_FAIL_CLOSED: 'false',
    });
    expect(result).toEqual({ status: 200, outcome: null });
    expect(stderr).toContain('DIRECT');
    expect(stderr).toContain(bundles.cjs);
    expect(await traces(pathname)).toEqual({ logged: 0, targetSaw: 1 });
  });
});
