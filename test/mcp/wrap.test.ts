import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const BIN = path.join(ROOT, 'bin', 'sphyr-mcp.js');
const EVERYTHING = path.join(
  ROOT,
  'node_modules',
  '@modelcontextprotocol',
  'server-everything',
  'dist',
  'index.js',
);

let gw: TestGateway;
let target: TargetServer;

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway('{"unsafeAllowRanges": ["127.0.0.0/8"], "rateLimits": {"perAgent": 1000}}');
});

afterAll(async () => {
  await gw?.close();
  await target?.close();
});

async function connect(args: string[], extraEnv: Record<string, string> = {}): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, ...args],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: await tempDir('sphyr-home-'),
      SPHYR_GATEWAY_URL: gw.gateway.url,
      SPHYR_CREDENTIAL: gw.credential.reveal(),
      ...extraEnv,
    },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'wrap-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** Tool-call reports are sent after the answer; wait for them rather than race them. */
async function toolRecords(match: (r: { tool: string | null; reason: string }) => boolean, count: number) {
  for (let i = 0; i < 50; i += 1) {
    const found = (await gw.gateway.store.query({ limit: 100 })).filter((r) => r.kind === 'tool' && match(r));
    if (found.length >= count) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  return (await gw.gateway.store.query({ limit: 100 })).filter((r) => r.kind === 'tool' && match(r));
}

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

describe('sphyr-mcp -- <upstream>: wrap mode', () => {
  it("passes server-everything through: tools/list equals the upstream's, calls, progress, resources, prompts", async () => {
    const direct = new Client({ name: 'direct', version: '1.0.0' });
    await direct.connect(
      new StdioClientTransport({ command: process.execPath, args: [EVERYTHING, 'stdio'], stderr: 'pipe' }),
    );
    const wrapped = await connect(['--', process.execPath, EVERYTHING, 'stdio']);
    try {
      expect(wrapped.getServerVersion()).toEqual(direct.getServerVersion());
      expect((await wrapped.listTools()).tools).toEqual((await direct.listTools()).tools);

      const echo = await wrapped.callTool({ name: 'echo', arguments: { message: 'through sphyr' } });
      expect(text(echo)).toContain('through sphyr');

      const progress: number[] = [];
      const long = await wrapped.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
        undefined,
        { onprogress: (p) => progress.push(p.progress) },
      );
      expect(long.isError).toBeFalsy();
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect([...progress].sort((a, b) => a - b)).toEqual(progress);

      const { resources } = await wrapped.listResources();
      expect(resources.length).toBeGreaterThan(0);
      const read = await wrapped.readResource({ uri: (resources[0] as { uri: string }).uri });
      expect(read.contents.length).toBeGreaterThan(0);
      const { prompts } = await wrapped.listPrompts();
      const simple = prompts.find((p) => !p.arguments?.some((a) => a.required)) ?? prompts[0];
      const got = await wrapped.getPrompt({ name: (simple as { name: string }).name, arguments: {} });
      expect(got.messages.length).toBeGreaterThan(0);

      const controller = new AbortController();
      const cancelled = wrapped.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 5, steps: 5 } },
        undefined,
        { signal: controller.signal },
      );
      setTimeout(() => controller.abort('user cancelled'), 300);
      await expect(cancelled).rejects.toThrow();

      // Each tools/call was reported to the gateway as a tool record.
      const tools = (await gw.gateway.store.query({ limit: 50 }))
        .filter((r) => r.kind === 'tool')
        .map((r) => r.tool);
      expect(tools).toEqual(expect.arrayContaining(['echo', 'trigger-long-running-operation']));
    } finally {
      await wrapped.close();
      await direct.close();
    }
  }, 60_000);

  it("instruments the upstream's own fetch: an allowed call is relayed and logged, a metadata call blocked", async () => {
    const wrapped = await connect(
      ['--', process.execPath, path.join(ROOT, 'fixtures', 'mcp', 'fetching-server.mjs')],
      {
        SPHYR_INSTRUMENT_HOSTS: '127.0.0.1',
      },
    );
    try {
      const ok = await wrapped.callTool({
        name: 'get_url',
        arguments: { url: `${target.url}/echo?from=upstream` },
      });
      expect(text(ok)).toMatch(/^HTTP 200 allowed: /);
      const blocked = await wrapped.callTool({
        name: 'get_url',
        arguments: { url: 'http://metadata.google.internal/computeMetadata/v1/' },
      });
      expect(text(blocked)).toContain('SphyrPolicyError ssrf_metadata');
      const records = await gw.gateway.store.query({ limit: 10 });
      const relays = records.filter((r) => r.kind === 'relay').map((r) => `${r.outcome}:${r.reason}`);
      expect(relays.slice(0, 2)).toEqual(['blocked:ssrf_metadata', 'allowed:allowed']);
      expect(await toolRecords((r) => r.tool === 'get_url', 2)).toHaveLength(2);
    } finally {
      await wrapped.close();
    }
  });

  it('passes a cancellation through to the upstream server', async () => {
    const stderr: string[] = [];
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, '--', process.execPath, path.join(ROOT, 'fixtures', 'mcp', 'fetching-server.mjs')],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: await tempDir('sphyr-home-'),
        SPHYR_GATEWAY_URL: gw.gateway.url,
        SPHYR_CREDENTIAL: gw.credential.reveal(),
      },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (c) => stderr.push(String(c)));
    const client = new Client({ name: 'cancel-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const controller = new AbortController();
      const call = client.callTool({ name: 'wait', arguments: { ms: 10_000 } }, undefined, {
        signal: controller.signal,
      });
      setTimeout(() => controller.abort('user cancelled'), 300);
      await expect(call).rejects.toThrow();
      for (let i = 0; i < 50 && !stderr.join('').includes('upstream saw cancellation'); i += 1) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(stderr.join('')).toMatch(/upstream saw cancellation of request \d+/);
    } finally {
      await client.close();
    }
  });

  it('refuses a denied tool without calling upstream, and logs it as blocked', async () => {
    const wrapped = await connect([
      '--tools-deny',
      'get_*',
      '--',
      process.execPath,
      path.join(ROOT, 'fixtures', 'mcp', 'fetching-server.mjs'),
    ]);
    try {
      const denied = await wrapped.callTool({ name: 'get_url', arguments: { url: `${target.url}/echo` } });
      expect(denied.isError).toBe(true);
      expect(text(denied)).toContain('policy_denied_tool');
      expect(text(denied)).toContain('--tools-allow/--tools-deny');
      expect(text(await wrapped.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
      const [record] = await toolRecords((r) => r.reason === 'policy_denied_tool' && r.tool === 'get_url', 1);
      expect(record).toMatchObject({
        kind: 'tool',
        tool: 'get_url',
        outcome: 'blocked',
        reason: 'policy_denied_tool',
      });
    } finally {
      await wrapped.close();
    }
  });

  it('survives garbage on the upstream stdout, answers at once when the upstream dies, and restarts it (bounded)', async () => {
    const stderr: string[] = [];
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, '--', process.execPath, path.join(ROOT, 'fixtures', 'mcp', 'noisy-server.mjs')],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: await tempDir('sphyr-home-'),
        SPHYR_GATEWAY_URL: gw.gateway.url,
        SPHYR_CREDENTIAL: gw.credential.reveal(),
      },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (c) => stderr.push(String(c)));
    const client = new Client({ name: 'noisy-test', version: '1.0.0' });
    await client.connect(transport);
    expect(client.getServerVersion()?.name).toBe('noisy-fixture');
    expect(stderr.join('')).toContain('upstream printed something that is not JSON-RPC');
    const started = Date.now();
    await expect(client.callTool({ name: 'crash', arguments: { code: 3 } })).rejects.toThrow(
      /upstream MCP server exited|Connection closed/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(stderr.join('')).toContain('upstream MCP server exited (code 3)');
    // The next call restarts it (initialize is replayed to the new process) and works.
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['crash']);
    expect(stderr.join('')).toContain('restarting the upstream MCP server');
    // Bounded: after three restarts in a minute it stops trying and says so.
    for (let i = 0; i < 3; i += 1) {
      await client.callTool({ name: 'crash', arguments: { code: 4 } }).catch(() => undefined);
      await client.listTools().catch(() => undefined);
    }
    await expect(client.listTools()).rejects.toThrow(/keeps exiting/);
    await client.close();
  });
});
