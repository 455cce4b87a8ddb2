import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';

const BIN = path.join(ROOT, 'bin', 'sphyr-mcp.js');

let gw: TestGateway;
let site: http.Server;
let siteUrl: string;
const stderr: string[] = [];

/** A real MCP client spawning the built sphyr-mcp over stdio, as an IDE does. */
async function connect(env: Record<string, string>): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN],
    env: { PATH: process.env.PATH ?? '', HOME: await tempDir('sphyr-home-'), ...env },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (c) => stderr.push(String(c)));
  const client = new Client({ name: 'sphyr-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

beforeAll(async () => {
  site = http.createServer((req, res) => {
    if (req.url === '/page') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<html><head><title>T</title><script>evil()</script></head><body><h1>Hello</h1><p>${'word '.repeat(400)}</p></body></html>`,
      );
    } else if (req.url === '/hop') {
      res.writeHead(302, { location: '/page' });
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    }
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw?.close();
  site?.close();
});

describe('sphyr-mcp over stdio with a real MCP client', () => {
  it('lists its tools with schemas, fetches through the gateway, checks and reports', async () => {
    const client = await connect({
      SPHYR_GATEWAY_URL: gw.gateway.url,
      SPHYR_CREDENTIAL: gw.credential.reveal(),
    });
    try {
      expect(client.getServerVersion()?.name).toBe('sphyr');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['check_url', 'fetch', 'recent_requests']);
      const fetchTool = tools.find((t) => t.name === 'fetch');
      expect(Object.keys(fetchTool?.inputSchema.properties ?? {})).toEqual(
        expect.arrayContaining(['url', 'method', 'headers', 'body', 'max_length', 'start_index', 'raw']),
      );

      const page = await client.callTool({
        name: 'fetch',
        arguments: { url: `${siteUrl}/hop`, max_length: 200 },
      });
      expect(page.isError).toBeFalsy();
      expect(text(page)).toContain(`Contents of ${siteUrl}/page (HTTP 200`);
      expect(text(page)).toContain('# Hello');
      expect(text(page)).not.toContain('evil()');
      expect(text(page)).toMatch(/start_index of \d+/);
      const next = await client.callTool({
        name: 'fetch',
        arguments: { url: `${siteUrl}/page`, start_index: 200, max_length: 100 },
      });
      expect(text(next)).toContain('word');

      const blocked = await client.callTool({
        name: 'fetch',
        arguments: { url: 'http://metadata.google.internal/computeMetadata/v1/' },
      });
      expect(blocked.isError).toBe(true);
      expect(text(blocked)).toContain('ssrf_metadata');

      const check = await client.callTool({
        name: 'check_url',
        arguments: { url: 'http://169.254.169.254/latest/' },
      });
      expect(check.structuredContent).toEqual({ verdict: 'block', reason: 'ssrf_metadata' });

      const recent = await client.callTool({ name: 'recent_requests', arguments: { limit: 10 } });
      const records = (recent.structuredContent as { records: Array<{ outcome: string; reason: string }> })
        .records;
      expect(records.map((r) => `${r.outcome}:${r.reason}`)).toEqual([
        'blocked:ssrf_metadata', // check_url
        'blocked:ssrf_metadata', // fetch of the metadata host
        'allowed:allowed', // the second page
        'allowed:allowed', // /page after the redirect, relayed again
        'allowed:allowed', // /hop (302)
      ]);
    } finally {
      await client.close();
    }
  });

  it('answers within 5 s that the gateway is unreachable when it is down (fail closed)', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const client = await connect({
      SPHYR_GATEWAY_URL: `http://127.0.0.1:${port}`,
      SPHYR_CREDENTIAL: gw.credential.reveal(),
    });
    try {
      const started = Date.now();
      const result = await client.callTool({ name: 'fetch', arguments: { url: `${siteUrl}/x` } });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(result.isError).toBe(true);
      expect(text(result)).toContain('gateway is unreachable');
    } finally {
      await client.close();
    }
  });

  it('without a credential still serves, and each tool says what to fix', async () => {
    const client = await connect({});
    try {
      const result = await client.callTool({ name: 'check_url', arguments: { url: 'https://example.com/' } });
      expect(result.isError).toBe(true);
      expect(text(result)).toContain('not configured');
      expect(text(result)).toContain('SPHYR_CREDENTIAL');
      expect(stderr.join('')).toContain('no credential');
    } finally {
      await client.close();
    }
  });
});
