import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sphyrLaunch } from '../../src/guard/launch.js';
import type { GuardHost } from '../../src/guard/platform.js';
import { applyPlans, planInitAll, planRemoveAll } from '../../src/guard/run.js';
import { tempDir } from '../helpers/gateway.js';

const LAUNCH = sphyrLaunch({
  platform: 'linux',
  nodePath: '/usr/bin/node',
  scriptPath: '/opt/sphyr/bin/sphyr-mcp.js',
});

async function host(): Promise<GuardHost> {
  return {
    platform: 'linux',
    env: {},
    home: '/home/me',
    fsRoot: await tempDir('sphyr-opencode-'),
    now: () => new Date(),
  };
}

const dirOf = (h: GuardHost) => path.join(h.fsRoot as string, 'home', 'me', '.config', 'opencode');

describe('opencode: alternatives, command arrays, wrap and remove', () => {
  it('edits an existing opencode.jsonc (comments kept) and creates no opencode.json', async () => {
    const h = await host();
    await mkdir(dirOf(h), { recursive: true });
    const original = `{
  // my opencode
  "$schema": "https://opencode.ai/config.json",
  "mcp": {
    "fs": { "type": "local", "command": ["npx", "-y", "fs-mcp"], "environment": { "ROOT": "/tmp" } },
  },
}
`;
    const file = path.join(dirOf(h), 'opencode.jsonc');
    await writeFile(file, original);
    const plans = await planInitAll(h, { clients: ['opencode'] }, LAUNCH, true);
    expect(plans.map((p) => p.target.file)).toEqual(['/home/me/.config/opencode/opencode.jsonc']);
    await applyPlans(h, plans, 'init');
    const after = await readFile(file, 'utf8');
    expect(after).toContain('// my opencode');
    expect(after).toContain(
      '"sphyr": {\n      "type": "local",\n      "command": [\n        "/usr/bin/node",',
    );
    expect(after).toContain(
      '"fs": { "type": "local", "command": ["/usr/bin/node", "/opt/sphyr/bin/sphyr-mcp.js", "--", "npx", "-y", "fs-mcp"], "environment": { "ROOT": "/tmp" } }',
    );
    expect(existsSync(path.join(dirOf(h), 'opencode.json'))).toBe(false);
    await applyPlans(h, await planRemoveAll(h, { clients: ['opencode'] }), 'remove');
    expect(await readFile(file, 'utf8')).toBe(original);
  });

  it('creates opencode.json when neither file exists, and remove deletes it again', async () => {
    const h = await host();
    await mkdir(dirOf(h), { recursive: true });
    const plans = await planInitAll(h, { clients: [] }, LAUNCH, false);
    expect(plans.map((p) => p.target.file)).toEqual(['/home/me/.config/opencode/opencode.json']);
    await applyPlans(h, plans, 'init');
    const json = JSON.parse(await readFile(path.join(dirOf(h), 'opencode.json'), 'utf8'));
    expect(json.mcp.sphyr).toEqual({
      type: 'local',
      command: ['/usr/bin/node', '/opt/sphyr/bin/sphyr-mcp.js'],
      enabled: true,
    });
    await applyPlans(h, await planRemoveAll(h, { clients: [] }), 'remove');
    expect(existsSync(path.join(dirOf(h), 'opencode.json'))).toBe(false);
  });
});
