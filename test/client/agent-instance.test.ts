import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentInstance, type InstanceParts, machineIdentity } from '../../src/client/agent-instance.js';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { INSTANCE_TEXT } from '../../src/gateway/handlers/agents.js';
import { startTestGateway, tempDir } from '../helpers/gateway.js';

/** Issue 13 item 21: the instance a client derives is stable per agent and tells agents apart. */
const PARTS: InstanceParts = {
  machine: 'm-1\nhost-1',
  home: '/home/ada',
  client: 'claude-code',
  name: 'sphyr-mcp',
  detail: [],
};

describe('agentInstance', () => {
  it('is the same on every start for the same parts, and one the gateway accepts', () => {
    const a = agentInstance(PARTS);
    expect(agentInstance({ ...PARTS })).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(a).toMatch(INSTANCE_TEXT);
  });

  it.each([
    ['machine', { machine: 'm-2\nhost-1' }],
    ['home', { home: '/home/bob' }],
    ['client (IDE)', { client: 'cursor' }],
    ['agent name', { name: 'research' }],
    ['wrapped server', { detail: ['npx', '-y', 'some-server'] }],
  ])('changes with the %s', (_part, change) => {
    expect(agentInstance({ ...PARTS, ...change })).not.toBe(agentInstance(PARTS));
  });

  it('does not let one part run into the next', () => {
    expect(agentInstance({ ...PARTS, client: 'ab', name: 'c' })).not.toBe(
      agentInstance({ ...PARTS, client: 'a', name: 'bc' }),
    );
    expect(agentInstance({ ...PARTS, detail: ['a b'] })).not.toBe(
      agentInstance({ ...PARTS, detail: ['a', 'b'] }),
    );
  });
});

describe('machineIdentity', () => {
  it('takes SPHYR_MACHINE_ID when set, whatever the machine id file says', async () => {
    const file = path.join(await tempDir(), 'machine-id');
    await writeFile(file, 'abc123\n');
    expect(machineIdentity({ SPHYR_MACHINE_ID: 'box-7' }, [file])).toBe('set:box-7');
    expect(machineIdentity({ SPHYR_MACHINE_ID: '  ' }, [file])).not.toBe('set:  ');
  });

  it('reads the first machine id file that has one, beside the hostname; the hostname alone without', async () => {
    const dir = await tempDir();
    const empty = path.join(dir, 'empty');
    const id = path.join(dir, 'id');
    await writeFile(empty, '\n');
    await writeFile(id, 'f00dfeed\n');
    expect(machineIdentity({}, [path.join(dir, 'missing'), empty, id])).toBe(`f00dfeed\n${os.hostname()}`);
    expect(machineIdentity({}, [path.join(dir, 'missing')])).toBe(`\n${os.hostname()}`);
    expect(machineIdentity({})).toBe(machineIdentity({}));
  });
});

describe('GatewayClient agent.instance', () => {
  it('registers the same agent from two clients (two starts) with one instance, a new one without', async () => {
    const th = await startTestGateway();
    try {
      const client = (instance?: string | (() => string | undefined)) =>
        new GatewayClient({
          gatewayUrl: th.gateway.url,
          credential: th.credential,
          agent: { name: 'svc', instance },
        });
      const instance = agentInstance(PARTS);
      const first = await client(instance).agentId();
      expect(await client(() => instance).agentId()).toBe(first);
      expect(await client().agentId()).not.toBe(first);
      expect(await client(() => undefined).agentId()).not.toBe(first);
    } finally {
      await th.close();
    }
  });
});
