import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClientSettings } from '../../src/config/local-config.js';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';

const run = promisify(execFile);
const INSPECTOR = path.join(ROOT, 'node_modules', '.bin', 'mcp-inspector');

let gw: TestGateway;
let home: string;

beforeAll(async () => {
  gw = await startTestGateway();
  // The credential travels in ~/.sphyr/config.json, not on any command line.
  home = await tempDir('sphyr-home-');
  await writeClientSettings({ home, env: {} }, { gatewayUrl: gw.gateway.url, credential: gw.credential });
});

afterAll(async () => {
  await gw?.close();
});

/** The MCP Inspector's CLI mode, an independent client, driving the built sphyr-mcp. */
async function inspect(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    INSPECTOR,
    ['--cli', process.execPath, path.join(ROOT, 'bin', 'sphyr-mcp.js'), ...args],
    {
      env: { PATH: process.env.PATH, HOME: home },
      timeout: 60_000,
    },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('the MCP Inspector (CLI mode) against sphyr-mcp', () => {
  it('lists the tools', async () => {
    const result = (await inspect('--method', 'tools/list')) as { tools: Array<{ name: string }> };
    expect(result.tools.map((t) => t.name).sort()).toEqual(['check_url', 'fetch', 'recent_requests']);
  }, 60_000);

  it('calls check_url and gets the gateway verdict', async () => {
    const result = (await inspect(
      '--method',
      'tools/call',
      '--tool-name',
      'check_url',
      '--tool-arg',
      'url=http://169.254.169.254/latest/meta-data/',
    )) as { structuredContent: unknown };
    expect(result.structuredContent).toEqual({ verdict: 'block', reason: 'ssrf_metadata' });
  }, 60_000);
});
