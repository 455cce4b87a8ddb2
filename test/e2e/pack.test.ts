import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

const run = promisify(execFile);

describe('npm pack', () => {
  it('gives a tarball that installs into an empty folder, whose sphyr bin and SDK entry work', async () => {
    const dir = await tempDir('sphyr-pack-');
    await run('npm', ['pack', '--pack-destination', dir], { cwd: ROOT });
    const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
    expect(tarball).toMatch(/^sphyr-sdk-.*\.tgz$/);
    const app = path.join(dir, 'app');
    await mkdir(app);
    // Offline-first from the npm cache that `npm ci` filled; the registry is the fallback.
    await run(
      'npm',
      ['install', path.join(dir, tarball as string), '--no-audit', '--no-fund', '--prefer-offline'],
      {
        cwd: app,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const bin = path.join(app, 'node_modules', '.bin', 'sphyr');
    const version = await run(bin, ['--version'], { cwd: app });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const created = await run(
      bin,
      ['keys', 'create', '--name', 'packed', '--data-dir', path.join(app, 'data')],
      {
        cwd: app,
      },
    );
    expect(created.stdout).toMatch(/^sphyr\.key_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}\n$/);
    const entry = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const m = await import('@sphyr/sdk'); console.log(m.classifyForInstrumentation('http://169.254.169.254/', { gatewayUrl: 'http://127.0.0.1:7470' }))",
      ],
      { cwd: app },
    );
    expect(entry.stdout.trim()).toBe('instrument');
    // The register entry resolves by name from the installed package, as sphyr-mcp and users use it.
    const registered = await run(
      process.execPath,
      [
        '--import',
        '@sphyr/sdk/register',
        '--input-type=module',
        '-e',
        'console.log(typeof globalThis.fetch)',
      ],
      { cwd: app, env: { PATH: process.env.PATH, HOME: app } },
    );
    expect(registered.stdout.trim()).toBe('function');
    expect(registered.stderr).toContain('not signing requests: no credential');
    const mcp = await run(path.join(app, 'node_modules', '.bin', 'sphyr-mcp'), ['--version'], { cwd: app });
    expect(mcp.stderr.trim()).toBe(version.stdout.trim());
    expect(mcp.stdout).toBe(''); // stdout is reserved for JSON-RPC
    // guard init points IDEs at the installed sphyr-mcp, by absolute path, run by this node.
    const dry = await run(bin, ['guard', 'init', '--dry-run', '--client', 'cursor'], {
      cwd: app,
      env: { PATH: process.env.PATH, HOME: path.join(app, 'home') },
    });
    expect(dry.stdout).toContain(JSON.stringify(process.execPath));
    expect(dry.stdout).toContain(
      JSON.stringify(path.join(app, 'node_modules', '@sphyr', 'sdk', 'bin', 'sphyr-mcp.js')),
    );
  }, 300_000);
});
