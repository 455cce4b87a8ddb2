/**
 * Issue 11 item 9: every file the gateway and the store-opening CLI commands create in the data dir
 * is 0600 and every folder 0700, whatever the umask and however the data dir was made. Runs as root
 * in CI, which ignores permission bits, so modes are checked with stat, never by trying to read.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { parseCredential } from '../../src/config/credential.js';
import { type CliResult, type GatewayProcess, runCli, SPHYR_BIN, spawnGateway } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function freshRoot(): Promise<string> {
  const dir = await tempDir();
  dirs.push(dir);
  return dir;
}

/** Mode bits of everything under `dir` (itself included), by path relative to it. */
async function modes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (p: string, rel: string) => {
    const s = await stat(p);
    out[rel] = (s.mode & 0o777).toString(8);
    if (s.isDirectory())
      for (const name of await readdir(p)) await walk(path.join(p, name), path.join(rel, name));
  };
  await walk(dir, '.');
  return out;
}

function expectPrivate(found: Record<string, string>, dirsExpected: string[]): void {
  for (const [rel, mode] of Object.entries(found)) {
    if (rel === '.') continue;
    expect({ [rel]: mode }).toEqual({ [rel]: dirsExpected.includes(rel) ? '700' : '600' });
  }
}

/** Run `fn` with the process umask set to `mask`; children spawned inside inherit it. */
async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

/** `sphyr gateway start` run to its end; one that starts listening is stopped at once (code 'started'). */
async function gatewayStartOutcome(
  dataDir: string,
): Promise<CliResult | { code: 'started'; stderr: string; stdout: string }> {
  const child = spawn(
    process.execPath,
    [SPHYR_BIN, 'gateway', 'start', '--port', '0', '--data-dir', dataDir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  let started = false;
  child.stdout.on('data', (c) => {
    stdout += c;
    if (!started && stdout.includes('\n')) {
      started = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return started ? { code: 'started', stdout, stderr } : { code, stdout, stderr };
}

/** Create a key, start the gateway, have one request logged; returns the running gateway. */
async function exercise(dataDir: string): Promise<{ gateway: GatewayProcess; keysStderr: string }> {
  const created = await runCli(['keys', 'create', '--name', 'modes', '--data-dir', dataDir]);
  expect(created.code).toBe(0);
  const gateway = await spawnGateway(['--data-dir', dataDir]);
  const client = new GatewayClient({
    gatewayUrl: gateway.url,
    credential: parseCredential(created.stdout, 'test'),
    agent: { name: 'modes' },
  });
  await expect(client.relay({ method: 'GET', url: 'http://169.254.169.254/' })).rejects.toMatchObject({
    code: 'ssrf_metadata',
  });
  return { gateway, keysStderr: created.stderr };
}

describe('data dir permissions', () => {
  it('example: a data dir that exists as 0755 gets 0600 files and 0700 folders, and a warning naming the fix', async () => {
    const dataDir = path.join(await freshRoot(), 'data');
    await mkdir(dataDir);
    await chmod(dataDir, 0o755);
    const { gateway, keysStderr } = await exercise(dataDir);
    try {
      const found = await modes(dataDir);
      // The WAL files exist while the gateway runs; they must be private too.
      expect(Object.keys(found)).toEqual(
        expect.arrayContaining(['sphyr.db', 'sphyr.db-wal', 'sphyr.db-shm']),
      );
      expectPrivate(found, ['tmp']);
      expect(found['.']).toBe('755'); // the operator's folder is reported, not changed behind their back
    } finally {
      await gateway.stop();
    }
    for (const stderr of [keysStderr, gateway.stderr()]) {
      expect(stderr).toContain(`${dataDir} is open to other users (mode 0755)`);
      expect(stderr).toContain(`chmod 700 ${dataDir}`);
    }
  });

  it('umask 000 still gives 0700 folders and 0600 files, created by the CLI and by the gateway', async () => {
    const dataDir = path.join(await freshRoot(), 'nested', 'data');
    const { gateway, keysStderr } = await withUmask(0o000, () => exercise(dataDir));
    try {
      const found = await modes(path.dirname(dataDir));
      expect(Object.keys(found)).toEqual(expect.arrayContaining(['data/sphyr.db-wal', 'data/sphyr.db-shm']));
      expectPrivate(found, ['data', 'data/tmp']);
    } finally {
      await gateway.stop();
    }
    expect(keysStderr).not.toContain('open to other users');
    expect(gateway.stderr()).not.toContain('open to other users');
  });

  it('example: master.key readable by others → the gateway refuses to start and creates nothing', async () => {
    const dataDir = path.join(await freshRoot(), 'data');
    await mkdir(dataDir, { mode: 0o700 });
    const key = path.join(dataDir, 'master.key');
    await writeFile(key, `${Buffer.alloc(32, 7).toString('base64url')}\n`);
    await chmod(key, 0o644);
    const started = await gatewayStartOutcome(dataDir);
    expect(started.code).toBe(1);
    expect(started.stderr).toContain(`${key} is open to other users (mode 0644)`);
    expect(started.stderr).toContain(`chmod 600 ${key}`);
    expect(started.stdout).toBe('');
    expect(await readdir(dataDir)).toEqual(['master.key']);
  });

  it('the CLI commands that open the store refuse a group-readable master.key too', async () => {
    const dataDir = path.join(await freshRoot(), 'data');
    expect((await runCli(['keys', 'create', '--name', 'x', '--data-dir', dataDir])).code).toBe(0);
    const key = path.join(dataDir, 'master.key');
    await chmod(key, 0o640);
    for (const args of [
      ['keys', 'list'],
      ['log', 'verify'],
      ['log', 'tail'],
    ]) {
      const result = await runCli([...args, '--data-dir', dataDir]);
      expect(result.stderr).toContain(`${key} is open to other users (mode 0640)`);
      expect(result.code).toBe(1);
    }
  });

  it('files an older version left open (sphyr.db 0644, tmp 0755) are made private on start, with a warning', async () => {
    const dataDir = path.join(await freshRoot(), 'data');
    expect((await runCli(['keys', 'create', '--name', 'x', '--data-dir', dataDir])).code).toBe(0);
    await chmod(path.join(dataDir, 'sphyr.db'), 0o644);
    await mkdir(path.join(dataDir, 'tmp'), { mode: 0o755 });
    await chmod(path.join(dataDir, 'tmp'), 0o755);
    const gateway = await spawnGateway(['--data-dir', dataDir]);
    try {
      expectPrivate(await modes(dataDir), ['tmp']);
    } finally {
      await gateway.stop();
    }
    expect(gateway.stderr()).toContain(
      `${path.join(dataDir, 'sphyr.db')} was open to other users (mode 0644)`,
    );
  });
});
