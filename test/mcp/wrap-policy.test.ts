import net from 'node:net';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

const BIN = path.join(ROOT, 'bin', 'sphyr-mcp.js');
const FETCHING = path.join(ROOT, 'fixtures', 'mcp', 'fetching-server.mjs');

let target: TargetServer;
beforeAll(async () => {
  target = await startTarget();
});
afterAll(async () => {
  await target?.close();
});

async function wrap(gatewayUrl: string, credential: string, flags: string[] = []) {
  const stderr: string[] = [];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, ...flags, '--', process.execPath, FETCHING],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: await tempDir('sphyr-home-'),
      SPHYR_GATEWAY_URL: gatewayUrl,
      SPHYR_CREDENTIAL: credential,
    },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (c) => stderr.push(String(c)));
  const client = new Client({ name: 'wrap-policy-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr };
}

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

async function toolRecords(gw: TestGateway, count: number) {
  for (let i = 0; i < 50; i += 1) {
    const found = (await gw.gateway.store.query({ limit: 100 })).filter((r) => r.kind === 'tool');
    if (found.length >= count) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  return (await gw.gateway.store.query({ limit: 100 })).filter((r) => r.kind === 'tool');
}

describe('wrap mode: tool lists from the policy file, and a gateway that is down', () => {
  it("refuses a tool the gateway's policy denies, per key too, without reaching upstream; one record per call", async () => {
    const gw = await startTestGateway(
      JSON.stringify({
        unsafeAllowRanges: ['127.0.0.0/8'],
        tools: { deny: ['get_*'] },
      }),
    );
    const { client } = await wrap(gw.gateway.url, gw.credential.reveal());
    try {
      const before = target.seen.length;
      const denied = await client.callTool({ name: 'get_url', arguments: { url: `${target.url}/echo` } });
      expect(denied.isError).toBe(true);
      expect(text(denied)).toContain('policy_denied_tool');
      expect(text(denied)).toContain("gateway's policy");
      expect(target.seen.length).toBe(before);
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
      const records = await toolRecords(gw, 2);
      expect(records.map((r) => `${r.tool}:${r.outcome}:${r.reason}`).sort()).toEqual([
        'echo:allowed:allowed',
        'get_url:blocked:policy_denied_tool',
      ]);
      // The tool check itself leaves no record of its own: one call, one record.
      expect((await gw.gateway.store.query({ limit: 100 })).filter((r) => r.kind === 'check')).toEqual([]);
    } finally {
      await client.close();
      await gw.close();
    }
  });

  it('lets a denied tool through in report mode, logged with a report_ reason', async () => {
    const gw = await startTestGateway(
      JSON.stringify({ mode: 'report', unsafeAllowRanges: ['127.0.0.0/8'], tools: { allow: ['get_*'] } }),
    );
    const { client } = await wrap(gw.gateway.url, gw.credential.reveal());
    try {
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
      const [record] = await toolRecords(gw, 1);
      expect(record).toMatchObject({ tool: 'echo', outcome: 'allowed', reason: 'report_policy_denied_tool' });
    } finally {
      await client.close();
      await gw.close();
    }
  });

  it('answers within 5 s that the gateway is unreachable when it refuses connections (fail closed)', async () => {
    const gw = await startTestGateway();
    const url = gw.gateway.url;
    const credential = gw.credential.reveal();
    await gw.close();
    const { client } = await wrap(url, credential);
    try {
      const before = target.seen.length;
      const started = Date.now();
      const result = await client.callTool({ name: 'get_url', arguments: { url: `${target.url}/echo` } });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(result.isError).toBe(true);
      expect(text(result)).toContain('gateway is unreachable');
      expect(text(result)).not.toContain(credential);
      expect(target.seen.length).toBe(before);
      // Everything that is not a tool call still passes through.
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('get_url');
    } finally {
      await client.close();
    }
  });

  it('answers within 5 s when the gateway accepts connections but never replies', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const gw = await startTestGateway();
    const credential = gw.credential.reveal();
    await gw.close();
    const { client } = await wrap(`http://127.0.0.1:${port}`, credential);
    try {
      const started = Date.now();
      const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
      const took = Date.now() - started;
      expect(took).toBeLessThan(6500); // the 5 s bound plus process scheduling
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/gateway is unreachable.*no answer within 5 s/);
    } finally {
      await client.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  }, 20_000);

  it('with --fail-open forwards the call when the gateway is down, saying so on stderr', async () => {
    const gw = await startTestGateway();
    const url = gw.gateway.url;
    const credential = gw.credential.reveal();
    await gw.close();
    const { client, stderr } = await wrap(url, credential, ['--fail-open']);
    try {
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
      expect(stderr.join('')).toContain('forwarding "echo" unchecked (--fail-open)');
    } finally {
      await client.close();
    }
  });

  it('refuses tool calls when no credential is configured, saying what to do', async () => {
    const { client } = await wrap('', '');
    try {
      const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/not configured.*sphyr login/);
    } finally {
      await client.close();
    }
  });
});
