import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  type CallToolResult,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';

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
beforeAll(async () => {
  gw = await startTestGateway('{"rateLimits": {"perAgent": 1000}}');
});
afterAll(async () => {
  await gw?.close();
});

function allText(result: unknown): string {
  return (result as CallToolResult).content.map((c) => (c as { text?: string }).text ?? '').join('\n');
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('wrap mode passes the rest of the protocol through, both ways', () => {
  it('server→client sampling, elicitation and roots; resource subscribe/updated; completion; logging', async () => {
    const client = new Client(
      { name: 'protocol-test', version: '1.0.0' },
      { capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } } },
    );
    const sampled: unknown[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      sampled.push(request.params);
      return { model: 'ide-model', role: 'assistant', content: { type: 'text', text: 'sampled-by-the-ide' } };
    });
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: 'accept',
      content: { name: 'Ada Lovelace', check: true },
    }));
    let roots = [{ uri: 'file:///work/project', name: 'project' }];
    let rootsAsked = 0;
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      rootsAsked += 1;
      return { roots };
    });
    const logs: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(String(n.params.data));
    });
    let toolListChanged = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      toolListChanged += 1;
    });
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });

    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, '--', process.execPath, EVERYTHING, 'stdio'],
        env: {
          PATH: process.env.PATH ?? '',
          HOME: await tempDir('sphyr-home-'),
          SPHYR_GATEWAY_URL: gw.gateway.url,
          SPHYR_CREDENTIAL: gw.credential.reveal(),
        },
        stderr: 'pipe',
      }),
    );
    try {
      // The upstream saw our capabilities through the relay: it registered its conditional tools
      // and asked the IDE for roots on its own (a server→client request with its own id space).
      const names = await until('the conditional tools', async () => {
        const list = (await client.listTools()).tools.map((t) => t.name);
        return list.includes('trigger-sampling-request') ? list : undefined;
      });
      expect(names).toEqual(expect.arrayContaining(['trigger-elicitation-request', 'get-roots-list']));
      // The upstream announced its new tools with notifications/tools/list_changed, relayed to us.
      await until('notifications/tools/list_changed', () => (toolListChanged > 0 ? true : undefined));
      await until('the roots request', () => (rootsAsked > 0 ? true : undefined));

      const sampling = await client.callTool({
        name: 'trigger-sampling-request',
        arguments: { prompt: 'hello', maxTokens: 10 },
      });
      expect(allText(sampling)).toContain('sampled-by-the-ide');
      expect(JSON.stringify(sampled[0])).toContain('hello');

      const elicited = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
      expect(allText(elicited)).toContain('Name: Ada Lovelace');

      expect(allText(await client.callTool({ name: 'get-roots-list', arguments: {} }))).toContain(
        'file:///work/project',
      );
      // roots/list_changed (client→server notification) makes the upstream ask again.
      roots = [...roots, { uri: 'file:///work/second', name: 'second' }];
      const askedBefore = rootsAsked;
      await client.sendRootsListChanged();
      await until('a second roots request', () => (rootsAsked > askedBefore ? true : undefined));
      await until('the upstream to see two roots', async () => {
        const t = allText(await client.callTool({ name: 'get-roots-list', arguments: {} }));
        return t.includes('file:///work/second') ? true : undefined;
      });

      // logging/setLevel is a request; upstream logging arrives as notifications/message.
      await client.setLoggingLevel('debug');
      const { resources } = await client.listResources();
      const uri = (resources[0] as { uri: string }).uri;
      await client.subscribeResource({ uri });
      await until('a log line about the subscription', () =>
        logs.some((l) => l.includes(`Subscribe Resource request for URI: ${uri}`)) ? true : undefined,
      );
      await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      await until('notifications/resources/updated', () => (updated.includes(uri) ? true : undefined));
      await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      await client.unsubscribeResource({ uri });

      const completion = await client.complete({
        ref: { type: 'ref/prompt', name: 'completable-prompt' },
        argument: { name: 'department', value: 'Eng' },
      });
      expect(completion.completion.values).toEqual(['Engineering']);
      const dependent = await client.complete({
        ref: { type: 'ref/prompt', name: 'completable-prompt' },
        argument: { name: 'name', value: '' },
        context: { arguments: { department: 'Sales' } },
      });
      expect(dependent.completion.values).toEqual(['David', 'Eve', 'Frank']);
    } finally {
      await client.close();
    }
  }, 60_000);
});
