import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { VERSION } from '../src/version.js';
import { ROOT } from './helpers/cli.js';

async function manifest(file: string) {
  return JSON.parse(await readFile(path.join(ROOT, file), 'utf8')) as {
    version: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
}

it('reports the version every package.json declares, and the packages depend on each other at it', async () => {
  expect((await manifest('package.json')).version).toBe(VERSION);
  for (const name of ['sdk', 'cli', 'gateway']) {
    expect((await manifest(`packages/${name}/package.json`)).version).toBe(VERSION);
  }
  const cli = await manifest('packages/cli/package.json');
  expect(cli.dependencies?.['@sphyr/sdk']).toBe(VERSION);
  expect(cli.peerDependencies?.['@sphyr/gateway']).toBe(VERSION);
});
