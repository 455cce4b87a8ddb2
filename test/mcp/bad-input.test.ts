import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

const BIN = path.join(ROOT, 'bin', 'sphyr-mcp.js');

/** Write raw lines to sphyr-mcp's stdin and collect what it answers, line by line. */
async function exchange(
  lines: string[],
  expectResponses: number,
): Promise<{ responses: unknown[]; stderr: string; code: number | null }> {
  const child = spawn(process.execPath, [BIN], {
    env: { PATH: process.env.PATH, HOME: await tempDir('sphyr-home-') },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c) => {
    err += c;
  });
  const responses: unknown[] = [];
  const done = new Promise<void>((resolve) => {
    child.stdout.on('data', (c) => {
      out += c;
      let i = out.indexOf('\n');
      while (i !== -1) {
        responses.push(JSON.parse(out.slice(0, i)));
        out = out.slice(i + 1);
        i = out.indexOf('\n');
      }
      if (responses.length >= expectResponses) resolve();
    });
  });
  for (const line of lines) child.stdin.write(`${line}\n`);
  await Promise.race([done, new Promise((r) => setTimeout(r, 25_000))]);
  child.stdin.end();
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { responses, stderr: err, code };
}

const init = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
});

describe('sphyr-mcp with bad input on stdin', () => {
  it('reports malformed JSON-RPC on stderr, keeps stdout clean, and goes on serving', async () => {
    const { responses, stderr, code } = await exchange(['{not json', '"just a string"', init], 3);
    // JSON-RPC 2.0 §5: a parse error and an invalid request are answered with id null.
    expect(responses[0]).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: expect.any(String) },
    });
    expect(responses[1]).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: expect.any(String) },
    });
    expect(responses[2]).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'sphyr' } } });
    expect(stderr).toMatch(/malformed message: Parse error/);
    expect(code).toBe(0); // exits cleanly when stdin closes
  });

  it('answers a 10 MB message without crashing', async () => {
    const huge = JSON.stringify({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: {
        name: 'check_url',
        arguments: { url: `https://example.com/${'a'.repeat(10 * 1024 * 1024)}` },
      },
    });
    const { responses, code } = await exchange([init, huge], 2);
    expect(responses).toHaveLength(2);
    expect(responses[1]).toMatchObject({ id: 2 });
    expect(JSON.stringify(responses[1])).toContain('not configured');
    expect(code).toBe(0);
  }, 30_000);

  it('discards a message over 64 MiB with a parse error and keeps serving', async () => {
    const tooBig = `{"jsonrpc":"2.0","id":3,"method":"ping","params":{"x":"${'b'.repeat(65 * 1024 * 1024)}"}}`;
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'ping' });
    const { responses, stderr, code } = await exchange([init, tooBig, ping], 3);
    expect(responses[1]).toMatchObject({ id: null, error: { code: -32700 } });
    expect(responses[2]).toEqual({ jsonrpc: '2.0', id: 4, result: {} });
    expect(stderr).toMatch(/larger than/);
    expect(code).toBe(0);
  }, 60_000);
});
