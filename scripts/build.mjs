// Builds the three published packages from src/ (DESIGN §2), quietly:
//   packages/sdk      @sphyr/sdk      what an agent imports, and sphyr-mcp; pure JS, no native module
//   packages/cli      @sphyr/cli      the `sphyr` command
//   packages/gateway  @sphyr/gateway  the server, console and SQLite store (the native driver lives here)
// Each is one rolldown bundle of our code; npm packages stay external and load as published, so each
// package.json lists exactly the dependencies its bundle imports (checked below). The SDK's types
// are tsc's declarations (dist/src, also used by bench/) copied as far as its entry points reach.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');

/** Small pure-JS packages on the CLI's start-up path, bundled so `guard init` loads fewer files. */
const CLI_BUNDLED = new Set(['commander', 'jsonc-parser', 'smol-toml']);

const PACKAGES = [
  {
    dir: 'packages/sdk',
    input: {
      index: 'src/index.ts',
      register: 'src/sdk/register.ts',
      // Loaded by path into every worker thread (src/sdk/workers.ts), so it is an entry of its own.
      'worker-entry': 'src/sdk/worker-entry.ts',
      'sphyr-mcp': 'src/mcp/main.ts',
    },
    types: ['index', 'sdk/register'],
  },
  {
    dir: 'packages/cli',
    input: { sphyr: 'src/cli/main.ts' },
    bundled: CLI_BUNDLED,
    // Resolved by name at run time, not imported: guard init points IDEs at its sphyr-mcp.
    resolvedAtRunTime: ['@sphyr/sdk'],
  },
  { dir: 'packages/gateway', input: { index: 'src/gateway/index.ts' } },
];

function packageName(id) {
  const parts = id.split('/');
  return id.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

async function bundle(pkg) {
  const imported = new Set();
  const out = path.join(ROOT, pkg.dir, 'dist');
  await rm(out, { recursive: true, force: true });
  const build = await rolldown({
    cwd: ROOT,
    input: pkg.input,
    platform: 'node',
    logLevel: 'warn',
    external: (id) => {
      if (id.startsWith('.') || path.isAbsolute(id) || id.startsWith('\0')) return false;
      if (id.startsWith('node:')) return true;
      if (pkg.bundled?.has(packageName(id))) return false;
      imported.add(packageName(id));
      return true;
    },
    resolve: {
      // jsonc-parser's main is a UMD build whose require() calls a bundler cannot follow.
      alias: { 'jsonc-parser': path.join(ROOT, 'node_modules/jsonc-parser/lib/esm/main.js') },
    },
  });
  await build.write({
    dir: out,
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    sourcemap: false,
  });
  await build.close();
  const manifest = JSON.parse(await readFile(path.join(ROOT, pkg.dir, 'package.json'), 'utf8'));
  const declared = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  const missing = [...imported].filter((name) => !declared.has(name));
  if (missing.length > 0) {
    throw new Error(`${manifest.name} imports ${missing.join(', ')} but its package.json does not list it`);
  }
  // Peers are loaded by a name rolldown cannot see (see src/cli/gateway-package.ts).
  const unused = Object.keys(manifest.dependencies ?? {}).filter(
    (name) => !imported.has(name) && !pkg.resolvedAtRunTime?.includes(name),
  );
  if (unused.length > 0) throw new Error(`${manifest.name} lists ${unused.join(', ')} but never imports it`);
  if (pkg.types) await copyTypes(pkg);
  if (!quiet) process.stderr.write(`built ${manifest.name} → ${pkg.dir}/dist\n`);
}

/** Copy the .d.ts files reachable from the entry points, keeping their paths under dist/types. */
async function copyTypes(pkg) {
  const from = path.join(ROOT, 'dist', 'src');
  const to = path.join(ROOT, pkg.dir, 'dist', 'types');
  const seen = new Set();
  const queue = pkg.types.map((entry) => path.join(from, `${entry}.d.ts`));
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(/(?:from\s+|import\()\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      queue.push(path.resolve(path.dirname(file), `${match[1]}.d.ts`));
    }
  }
  for (const file of seen) {
    const rel = path.relative(from, file);
    if (rel.startsWith('..')) throw new Error(`${pkg.dir}: its types reach ${file}, outside src/`);
    await mkdir(path.dirname(path.join(to, rel)), { recursive: true });
    await cp(file, path.join(to, rel));
  }
}

// tsc: type declarations, and dist/src for the bench and dev scripts.
execFileSync(
  process.execPath,
  [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: ROOT,
    stdio: 'inherit',
  },
);
for (const pkg of PACKAGES) await bundle(pkg);
