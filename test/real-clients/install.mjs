#!/usr/bin/env node
// Installs the npm-distributed IDE clients the real-clients test runs (test/real-clients), at the
// versions in versions.json (the newest that run on Node 20), into a cache folder outside this
// repository: $SPHYR_REAL_CLIENTS_DIR, default ~/.cache/sphyr-real-clients. A rerun with the right
// versions already there does nothing. The only network it uses is the npm registry, through npm.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const versions = JSON.parse(readFileSync(path.join(here, 'versions.json'), 'utf8'));
const dir = process.env.SPHYR_REAL_CLIENTS_DIR || path.join(os.homedir(), '.cache', 'sphyr-real-clients');

function installed(name) {
  const manifest = path.join(dir, 'node_modules', name, 'package.json');
  return existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')).version : undefined;
}

const missing = Object.entries(versions).filter(([name, version]) => installed(name) !== version);
if (missing.length === 0) {
  process.stderr.write(`real clients: all ${Object.keys(versions).length} present in ${dir}\n`);
  process.exit(0);
}
mkdirSync(dir, { recursive: true });
const specs = missing.map(([name, version]) => `${name}@${version}`);
process.stderr.write(`real clients: installing ${specs.join(', ')} into ${dir}\n`);
// Their install scripts are not needed (the CLIs run without them) and would build native modules.
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(
  npm,
  ['install', '--prefix', dir, '--no-audit', '--no-fund', '--ignore-scripts', '--save-exact', ...specs],
  { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'], shell: process.platform === 'win32' },
);
if (result.status !== 0) {
  process.stderr.write(
    `real clients: npm install failed (exit ${result.status}); the real-clients test cannot run\n`,
  );
  process.exit(result.status || 1);
}
// The two scripts that are needed: each moves its platform's native binary into place (no network).
for (const [name, script] of [
  ['@anthropic-ai/claude-code', 'install.cjs'],
  ['opencode-ai', 'postinstall.mjs'],
]) {
  const folder = path.join(dir, 'node_modules', name);
  if (!missing.some(([n]) => n === name) || !existsSync(path.join(folder, script))) continue;
  const run = spawnSync(process.execPath, [script], { cwd: folder, stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) {
    process.stderr.write(`real clients: ${name}'s ${script} failed (exit ${run.status})\n`);
    process.exit(run.status || 1);
  }
}
const wrong = Object.entries(versions).filter(([name, version]) => installed(name) !== version);
if (wrong.length) {
  process.stderr.write(`real clients: still wrong after install: ${wrong.map(([n]) => n).join(', ')}\n`);
  process.exit(1);
}
