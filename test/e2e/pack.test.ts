import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';
import { selfSignedCert } from '../helpers/tls.js';

const run = promisify(execFile);

/**
 * Issue 12: the three packages, packed and installed into an empty folder, run the quickstart as
 * written. Installs come from the npm cache `npm ci` filled (offline first).
 */
let dir: string;
let app: string;
let home: string;
const tarballs: Record<string, string> = {};
const env = () => ({ PATH: process.env.PATH ?? '', HOME: home, npm_config_prefer_offline: 'true' });

async function npmInstall(cwd: string, files: string[]): Promise<void> {
  await run('npm', ['install', ...files, '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd,
    maxBuffer: 16 * 1024 * 1024,
  });
}

async function filesUnder(root: string, match: (name: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && match(entry.name)) found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}

beforeAll(async () => {
  dir = await tempDir('sphyr-pack-');
  const { stdout } = await run('npm', ['pack', '--workspaces', '--pack-destination', dir, '--json'], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const { name, filename } of JSON.parse(stdout) as Array<{ name: string; filename: string }>) {
    tarballs[name] = path.join(dir, filename);
  }
  app = path.join(dir, 'app');
  home = path.join(dir, 'home');
  await mkdir(app);
  await mkdir(home);
  await writeFile(path.join(app, 'package.json'), '{"name":"app","private":true,"type":"module"}\n');
  await npmInstall(app, Object.values(tarballs));
}, 300_000);

describe('the packages as the quickstart names them', () => {
  it('packs @sphyr/sdk, @sphyr/cli and @sphyr/gateway', () => {
    expect(Object.keys(tarballs).sort()).toEqual(['@sphyr/cli', '@sphyr/gateway', '@sphyr/sdk']);
  });

  it('npx @sphyr/cli --help lists every command on stdout', async () => {
    const { stdout } = await run('npx', ['@sphyr/cli', '--help'], { cwd: app, env: env() });
    for (const command of ['gateway', 'keys', 'log', 'guard', 'login', 'logout', 'whoami']) {
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });

  it('npx @sphyr/cli guard init --dry-run on a fake home points the IDE at the installed sphyr-mcp', async () => {
    await mkdir(path.join(home, '.cursor'), { recursive: true });
    const { stdout } = await run('npx', ['@sphyr/cli', 'guard', 'init', '--dry-run', '--client', 'cursor'], {
      cwd: app,
      env: env(),
    });
    expect(stdout).toContain(JSON.stringify(process.execPath));
    expect(stdout).toContain(
      JSON.stringify(path.join(app, 'node_modules', '@sphyr', 'sdk', 'bin', 'sphyr-mcp.js')),
    );
  });

  it('login --with-token, then the quickstart guard-demo.mjs unchanged against a local gateway', async () => {
    // The installed @sphyr/gateway, started through its API with the one thing a test must inject:
    // a resolver answering api.example.com with 127.0.0.2, where an https server for it listens.
    const { key, cert } = await selfSignedCert(['api.example.com']);
    await writeFile(path.join(dir, 'key.pem'), key);
    await writeFile(path.join(dir, 'cert.pem'), cert);
    const dataDir = path.join(dir, 'gateway-data');
    await writeFile(
      path.join(app, 'run-gateway.mjs'),
      `import { readFileSync } from 'node:fs';
import https from 'node:https';
import { startGateway, parsePolicy } from '@sphyr/gateway';
const key = readFileSync(${JSON.stringify(path.join(dir, 'key.pem'))});
const cert = readFileSync(${JSON.stringify(path.join(dir, 'cert.pem'))}, 'utf8');
const target = https.createServer({ key, cert }, (req, res) => {
  process.stderr.write(\`target saw \${req.method} \${req.headers.host}\${req.url}\\n\`);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ data: 'from api.example.com' }));
});
await new Promise((r) => target.listen(443, '127.0.0.2', r));
const gw = await startGateway({
  port: 0,
  dataDir: ${JSON.stringify(dataDir)},
  upstreamCa: cert,
  policy: parsePolicy('{"unsafeAllowRanges": ["127.0.0.2/32"]}', 'test'),
  resolve: async (host) => { if (host === 'api.example.com') return ['127.0.0.2']; throw new Error('ENOTFOUND'); },
  warn: () => {},
});
process.stdout.write(gw.url + '\\n');
process.on('SIGTERM', async () => { await gw.close(); target.close(); process.exit(0); });
`,
    );
    const gateway = spawn(process.execPath, ['run-gateway.mjs'], { cwd: app, env: env() });
    let gatewayErr = '';
    gateway.stderr.on('data', (c) => {
      gatewayErr += c;
    });
    try {
      const gatewayUrl = await new Promise<string>((resolve, reject) => {
        gateway.stdout.once('data', (c) => resolve(String(c).trim()));
        gateway.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${gatewayErr}`)));
      });
      // A key from the installed CLI, which loads the installed gateway package for `keys`.
      const created = await run(
        'npx',
        ['@sphyr/cli', 'keys', 'create', '--name', 'packed', '--data-dir', dataDir],
        {
          cwd: app,
          env: env(),
        },
      );
      const credential = created.stdout.trim();
      expect(credential).toMatch(/^sphyr\.key_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
      await new Promise<void>((resolve, reject) => {
        const login = spawn('npx', ['@sphyr/cli', 'login', '--with-token', '--gateway', gatewayUrl], {
          cwd: app,
          env: env(),
          stdio: ['pipe', 'ignore', 'pipe'],
        });
        let err = '';
        login.stderr.on('data', (c) => {
          err += c;
        });
        login.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`login exited ${code}: ${err}`)),
        );
        login.stdin.end(`${credential}\n`);
      });
      const config = JSON.parse(await readFile(path.join(home, '.sphyr', 'config.json'), 'utf8'));
      expect(config).toMatchObject({ gateway: gatewayUrl });
      await copyFile(path.join(ROOT, 'fixtures', 'sdk', 'guard-demo.mjs'), path.join(app, 'guard-demo.mjs'));
      const demo = await run(process.execPath, ['guard-demo.mjs'], { cwd: app, env: env() });
      expect(demo.stdout).toContain("data: 'from api.example.com'");
      expect(gatewayErr).toContain('target saw GET api.example.com/data');
      const tail = await run('npx', ['@sphyr/cli', 'log', 'tail', '--json', '--data-dir', dataDir], {
        cwd: app,
        env: env(),
      });
      expect(tail.stdout).toContain('"host":"api.example.com"');
    } finally {
      gateway.kill('SIGTERM');
    }
  }, 60_000);

  it('npx -y -p @sphyr/sdk sphyr-mcp answers initialize and tools/list over stdio', async () => {
    const transport = new StdioClientTransport({
      command: 'npx',
      args: ['-y', '-p', '@sphyr/sdk', 'sphyr-mcp'],
      cwd: app,
      env: env(),
      stderr: 'ignore',
    });
    const client = new Client({ name: 'pack-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect(client.getServerVersion()?.name).toBe('sphyr');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['check_url', 'fetch', 'recent_requests']);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('sphyr-mcp --help and --version print on stdout', async () => {
    const bin = path.join(app, 'node_modules', '.bin', 'sphyr-mcp');
    expect((await run(bin, ['--help'], { cwd: app })).stdout).toMatch(/^Usage: sphyr-mcp/);
    expect((await run(bin, ['--version'], { cwd: app })).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('require("@sphyr/sdk") works from CommonJS, and import gives the same module', async () => {
    const cjs = await run(
      process.execPath,
      [
        '-e',
        "const s = require('@sphyr/sdk'); console.log(typeof s.default, typeof s.autoInstrument, typeof s.GatewayClient, typeof s.verifyWebhook, typeof s.SphyrNetworkError)",
      ],
      { cwd: app, env: env() },
    );
    expect(cjs.stdout.trim()).toBe('function function function function function');
    expect(cjs.stderr).toBe('');
    const esm = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import autoInstrument, { autoInstrument as named } from '@sphyr/sdk'; import { createRequire } from 'node:module'; console.log(autoInstrument === named, createRequire(import.meta.url)('@sphyr/sdk').autoInstrument === named)",
      ],
      { cwd: app, env: env() },
    );
    expect(esm.stdout.trim()).toBe('true true');
  });

  it('@sphyr/sdk alone installs no native module and runs no install script', async () => {
    const slim = path.join(dir, 'slim');
    await mkdir(slim);
    await writeFile(path.join(slim, 'package.json'), '{"name":"slim","private":true}\n');
    await npmInstall(slim, [tarballs['@sphyr/sdk'] as string]);
    const modules = path.join(slim, 'node_modules');
    expect(await filesUnder(modules, (n) => n.endsWith('.node') || n === 'binding.gyp')).toEqual([]);
    expect(await readdir(modules)).not.toContain('better-sqlite3');
    const lock = JSON.parse(await readFile(path.join(slim, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    expect(Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript)).toEqual([]);
    // And an agent can use it: the register entry loads.
    const registered = await run(
      process.execPath,
      ['--import', '@sphyr/sdk/register', '--input-type=module', '-e', 'console.log(typeof fetch)'],
      { cwd: slim, env: env() },
    );
    expect(registered.stdout.trim()).toBe('function');
  }, 120_000);

  it('the CLI without @sphyr/gateway says in one line what to install', async () => {
    const cliOnly = path.join(dir, 'cli-only');
    await mkdir(cliOnly);
    await writeFile(path.join(cliOnly, 'package.json'), '{"name":"cli-only","private":true}\n');
    await npmInstall(cliOnly, [tarballs['@sphyr/cli'] as string, tarballs['@sphyr/sdk'] as string]);
    const result = await run('npx', ['@sphyr/cli', 'keys', 'list', '--data-dir', path.join(dir, 'none')], {
      cwd: cliOnly,
      env: env(),
    }).catch((e: { code: number; stderr: string }) => e);
    expect((result as { code: number }).code).toBe(1);
    const lines = (result as { stderr: string }).stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('npm install @sphyr/gateway');
  }, 120_000);
});
