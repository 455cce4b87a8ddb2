import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCredential } from '../../src/config/credential.js';
import { readClientSettings, writeClientSettings } from '../../src/config/local-config.js';
import { SphyrConfigError } from '../../src/errors.js';
import { tempDir } from '../helpers/gateway.js';

const CRED = 'sphyr.key_live_7Qm2.fh86nH4fOpx-Hzqcfh86nH4fOpx-Hzqcfh86nH4fOpw';

async function home(contents?: string): Promise<string> {
  const dir = await tempDir('sphyr-home-');
  if (contents !== undefined) {
    await mkdir(path.join(dir, '.sphyr'));
    await writeFile(path.join(dir, '.sphyr', 'config.json'), contents);
  }
  return dir;
}

describe('~/.sphyr/config.json', () => {
  it('reads gateway and credential from the file', async () => {
    const h = await home(JSON.stringify({ gateway: 'http://127.0.0.1:7470/', credential: CRED }));
    const s = await readClientSettings({ home: h, env: {} });
    expect(s.gatewayUrl).toBe('http://127.0.0.1:7470');
    expect(s.credential?.keyId).toBe('key_live_7Qm2');
    expect(s.sources.credential).toBe(path.join(h, '.sphyr', 'config.json'));
  });

  it('lets SPHYR_CREDENTIAL and SPHYR_GATEWAY_URL override the file, even a broken one', async () => {
    const h = await home('{ not json');
    const other = generateCredential('key_env');
    const s = await readClientSettings({
      home: h,
      env: { SPHYR_CREDENTIAL: other.reveal(), SPHYR_GATEWAY_URL: 'https://gw.example.com' },
    });
    expect(s.credential?.keyId).toBe('key_env');
    expect(s.gatewayUrl).toBe('https://gw.example.com');
    expect(s.sources).toEqual({ credential: 'SPHYR_CREDENTIAL', gatewayUrl: 'SPHYR_GATEWAY_URL' });
  });

  it('is empty, not an error, when there is no file', async () => {
    const s = await readClientSettings({ home: await home(), env: {} });
    expect(s).toEqual({ gatewayUrl: undefined, credential: undefined, sources: {} });
  });

  it.each([
    ['{ not json', 'is not valid JSON'],
    ['[1,2]', 'must hold a JSON object'],
    ['{"credential": 5}', '"credential" must be a string'],
    [`{"credential": "sphyr.bad"}`, 'three dot-separated parts'],
    ['{"gateway": "ftp://x"}', 'must be http:// or https://'],
    ['{"gateway": "https://user:pw@gw.example.com"}', 'must not contain credentials'],
  ])('names the file and the problem for %s', async (contents, problem) => {
    const h = await home(contents);
    const error = await readClientSettings({ home: h, env: {} }).catch((e) => e);
    expect(error).toBeInstanceOf(SphyrConfigError);
    expect(error.message).toContain(path.join(h, '.sphyr', 'config.json'));
    expect(error.message).toContain(problem);
  });

  it('names the variable when SPHYR_CREDENTIAL is malformed', async () => {
    const error = await readClientSettings({ home: await home(), env: { SPHYR_CREDENTIAL: 'oops' } }).catch(
      (e) => e,
    );
    expect(error.message).toMatch(/^SPHYR_CREDENTIAL: /);
  });

  it('writes the file 0600 in a 0700 folder, atomically, and reads it back', async () => {
    const h = await home();
    const credential = generateCredential('key_w');
    const file = await writeClientSettings(
      { home: h, env: {} },
      { gatewayUrl: 'http://127.0.0.1:7470', credential },
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      gateway: 'http://127.0.0.1:7470',
      credential: credential.reveal(),
    });
    expect(await readdir(path.dirname(file))).toEqual(['config.json']);
    // Rewriting an existing 0644 file makes it 0600.
    await writeFile(file, '{}', { mode: 0o644 });
    await writeClientSettings({ home: h, env: {} }, { gatewayUrl: 'http://127.0.0.1:7470', credential });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const back = await readClientSettings({ home: h, env: {} });
    expect(back.credential?.reveal()).toBe(credential.reveal());
  });
});
