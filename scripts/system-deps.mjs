#!/usr/bin/env node
// The Debian packages the test suite drives for real, installed when missing so that `npm test`
// passes on a fresh machine with nothing installed by hand (README, "Try it"). Everything else
// comes from `npm ci`. Run as root (or with passwordless sudo); otherwise it says what to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian package → how to tell it is there. */
const NEEDED = [
  { pkg: 'chromium', present: () => onPath('chromium'), why: 'browser tests (playwright-core drives it)' },
  { pkg: 'openssl', present: () => onPath('openssl'), why: 'test certificates' },
];

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const missing = NEEDED.filter((n) => !n.present());
if (missing.length === 0) process.exit(0);

const names = missing.map((n) => n.pkg);
const say = (text) => process.stderr.write(`system-deps: ${text}\n`);
say(`installing ${missing.map((n) => `${n.pkg} (${n.why})`).join(', ')}`);
const root = process.getuid?.() === 0;
const sudo = !root && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
if (!existsSync('/usr/bin/apt-get') || (!root && !sudo)) {
  say(`cannot install them here; run: sudo apt-get install -y ${names.join(' ')}`);
  process.exit(1);
}
const apt = (args) =>
  execFileSync(root ? 'apt-get' : 'sudo', root ? args : ['-n', 'apt-get', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
apt(['update', '-qq']);
apt(['install', '-y', '-qq', ...names]);
const still = missing.filter((n) => !n.present());
if (still.length > 0) {
  say(`still missing after apt-get: ${still.map((n) => n.pkg).join(', ')}`);
  process.exit(1);
}
