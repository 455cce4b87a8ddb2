import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

/**
 * Issue 13 item 21, over real processes: the built sphyr-mcp, spawned by a real MCP client as an
 * IDE spawns it, against a real gateway. A restart of the same sphyr-mcp in the same IDE on the
 * same machine is the same agent; another IDE, another machine or another wrapped server is not.
 */
const BIN = path.join(ROOT, 'bin', 'sphyr-mcp.js');
const UPSTREAM = path.join(ROOT, 'fixtures', 'mcp', 'fetching-server.mjs');
const CLIENT_INFO_META = 'io.modelcontextprotocol/clientInfo';

let gw: TestGateway;
let target: TargetServer;
let home: string;

interface RecentRecord {
  kind: string;
  outcome: string;
  reason: string;
}

interface Run {
  /** The IDE: the MCP client's `clientInfo.name`. */
  ide: string;
  machine?: string;
  home?: string;
  args?: string[];
}

/** One sphyr-mcp process from spawn to exit, as an IDE session runs it. */
async function session<T>(run: Run, act: (client: Client) => Promise<T>): Promise<T> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, ...(run.args ?? [])],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: run.home ?? home,
      SPHYR_GATEWAY_URL: gw.gateway.url,
      SPHYR_CREDENTIAL: gw.credential.reveal(),
      SPHYR_MACHINE_ID: run.machine ?? 'machine-a',
    },
    stderr: 'pipe',
  });
  const client = new Client({ name: run.ide, version: '1.0.0' });
  await client.connect(transport);
  try {
    return await act(client);
  } finally {
    await client.close();
  }
}

/**
 * A client of the stateless revision: no initialize, its identity in each request's `_meta`.
 * Sends the tool calls one after another over raw stdio and returns their results.
 */
async function statelessSession(calls: Array<Record<string, unknown>>): Promise<CallToolResult[]> {
  const child = spawn(process.execPath, [BIN], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      SPHYR_GATEWAY_URL: gw.gateway.url,
      SPHYR_CREDENTIAL: gw.credential.reveal(),
      SPHYR_MACHINE_ID: 'machine-a',
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const results: CallToolResult[] = [];
  try {
    for (const [i, params] of calls.entries()) {
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params })}\n`);
      const { value } = await lines.next();
      const answer = JSON.parse(String(value)) as { id: number; result: CallToolResult };
      expect(answer.id).toBe(i + 1);
      results.push(answer.result);
    }
  } finally {
    child.stdin.end();
    await once(child, 'exit');
  }
  return results;
}

async function fetchOnce(client: Client): Promise<void> {
  const result = (await client.callTool({
    name: 'fetch',
    arguments: { url: `${target.url}/echo` },
  })) as CallToolResult;
  expect(result.isError).toBeFalsy();
}

async function checkOnce(client: Client): Promise<void> {
  const result = await client.callTool({ name: 'check_url', arguments: { url: `${target.url}/check` } });
  expect(result.structuredContent).toMatchObject({ verdict: 'allow' });
}

async function recent(client: Client): Promise<RecentRecord[]> {
  const result = await client.callTool({ name: 'recent_requests', arguments: { limit: 50 } });
  expect(result.isError).toBeFalsy();
  return (result.structuredContent as { records: RecentRecord[] }).records;
}

/** The agents the gateway has, by name. */
async function agentsNamed(name: string) {
  return (await gw.gateway.store.listAgents({ since: 0 })).filter((a) => a.name === name);
}

/** Tool-call reports are sent after the answer; wait for them rather than race them. */
async function toolRecords(count: number) {
  for (let i = 0; i < 100; i += 1) {
    const found = (await gw.gateway.store.query({ limit: 100 })).filter((r) => r.kind === 'tool');
    if (found.length >= count) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  return (await gw.gateway.store.query({ limit: 100 })).filter((r) => r.kind === 'tool');
}

beforeAll(async () => {
  target = await startTarget();
});

afterAll(async () => {
  await target?.close();
});

beforeEach(async () => {
  gw = await startTestGateway();
  home = await tempDir('sphyr-home-');
});

afterEach(async () => {
  await gw?.close();
});

describe('sphyr-mcp keeps its agent across restarts', () => {
  it('the same IDE on the same machine: the restarted server sees the first run in recent_requests', async () => {
    await session({ ide: 'claude-code' }, (c) => fetchOnce(c));
    const records = await session({ ide: 'claude-code' }, async (c) => {
      await checkOnce(c);
      return recent(c);
    });
    expect(records.map((r) => `${r.kind}:${r.outcome}`)).toEqual(['check:allowed', 'relay:allowed']);
    expect(await agentsNamed('sphyr-mcp')).toHaveLength(1);
    // A third start, once more the same agent.
    await session({ ide: 'claude-code' }, (c) => checkOnce(c));
    expect(await agentsNamed('sphyr-mcp')).toHaveLength(1);
  });

  it('another IDE on the same machine is another agent, and sees none of the first one', async () => {
    await session({ ide: 'claude-code' }, (c) => fetchOnce(c));
    const records = await session({ ide: 'cursor' }, async (c) => {
      await checkOnce(c);
      return recent(c);
    });
    expect(records.map((r) => r.kind)).toEqual(['check']);
    expect(await agentsNamed('sphyr-mcp')).toHaveLength(2);
    // Each IDE, restarted, finds its own history and not the other's.
    const back = await session({ ide: 'claude-code' }, (c) => recent(c));
    expect(back.map((r) => r.kind)).toEqual(['relay']);
  });

  it('the same IDE on another machine (or another user home) is another agent', async () => {
    await session({ ide: 'claude-code' }, (c) => fetchOnce(c));
    const otherMachine = await session({ ide: 'claude-code', machine: 'machine-b' }, (c) => recent(c));
    expect(otherMachine).toEqual([]);
    const otherHome = await session({ ide: 'claude-code', home: await tempDir('sphyr-home-') }, (c) =>
      recent(c),
    );
    expect(otherHome).toEqual([]);
    expect(await agentsNamed('sphyr-mcp')).toHaveLength(3);
    // And the first machine's agent is still there for its next start.
    const back = await session({ ide: 'claude-code' }, (c) => recent(c));
    expect(back.map((r) => r.kind)).toEqual(['relay']);
  });

  it('another --agent-name in the same IDE is another agent', async () => {
    const research = { ide: 'claude-code', args: ['--agent-name', 'research'] };
    await session({ ide: 'claude-code' }, (c) => fetchOnce(c));
    const records = await session(research, async (c) => {
      await checkOnce(c);
      return recent(c);
    });
    expect(records.map((r) => r.kind)).toEqual(['check']);
    const again = await session(research, (c) => recent(c));
    expect(again.map((r) => r.kind)).toEqual(['check']);
    expect(await agentsNamed('research')).toHaveLength(1);
    expect(await agentsNamed('sphyr-mcp')).toHaveLength(1);
  });

  it("names the IDE from each request's _meta clientInfo when there is no initialize (MCP 2026-07-28)", async () => {
    await session({ ide: 'claude-code' }, (c) => fetchOnce(c));
    const meta = { [CLIENT_INFO_META]: { name: 'claude-code', version: '2.1.197' } };
    const [check, listed] = await statelessSession([
      { name: 'check_url', arguments: { url: `${target.url}/check` }, _meta: meta },
      { name: 'recent_requests', arguments: { limit: 50 }, _meta: meta },
    ]);
    expect(check?.structuredContent).toMatchObject({ verdict: 'allow' });
    const records = (listed?.structuredContent as { records: RecentRecord[] } | undefined)?.records ?? [];
    expect(records.map((r) => r.kind)).toEqual(['check', 'relay']);
    expect(await agentsNamed('sphyr-mcp')).toHaveLength(1);
  });
});

describe('sphyr-mcp -- <server> keeps its agent across restarts', () => {
  it('per wrapped server and IDE: the same one again is the same agent, another server or IDE is not', async () => {
    const wrap = (extra: string[] = []) => ['--', process.execPath, UPSTREAM, ...extra];
    const echo = async (c: Client) => {
      const result = (await c.callTool({ name: 'echo', arguments: { text: 'hi' } })) as CallToolResult;
      expect(result.isError).toBeFalsy();
    };
    await session({ ide: 'claude-code', args: wrap() }, echo);
    await session({ ide: 'claude-code', args: wrap() }, echo);
    await session({ ide: 'claude-code', args: wrap(['--other-server']) }, echo);
    await session({ ide: 'cursor', args: wrap() }, echo);
    await session({ ide: 'claude-code' }, (c) => checkOnce(c)); // the plain sphyr entry beside them
    const tools = await toolRecords(4);
    const [otherIde, otherServer, restarted, first] = tools.map((r) => r.agentId);
    expect(restarted).toBe(first);
    expect(new Set([first, otherServer, otherIde]).size).toBe(3);
    const plain = (await gw.gateway.store.query({ limit: 100 })).find((r) => r.kind === 'check');
    expect([first, otherServer, otherIde]).not.toContain(plain?.agentId);
  });
});
