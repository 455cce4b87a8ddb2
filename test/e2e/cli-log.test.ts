import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { parseCredential } from '../../src/config/credential.js';
import { databasePath } from '../../src/gateway/store/sqlite-store.js';
import { type GatewayProcess, runCli, spawnGateway } from '../helpers/cli.js';
import { LOOPBACK_TEST_POLICY, tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

let dir: string;
let dataDir: string;
let gateway: GatewayProcess;
let target: TargetServer;
let credentialText: string;

beforeAll(async () => {
  dir = await tempDir();
  dataDir = path.join(dir, 'data');
  const policy = path.join(dir, 'policy.json');
  await writeFile(policy, LOOPBACK_TEST_POLICY);
  target = await startTarget();
  gateway = await spawnGateway(['--data-dir', dataDir, '--policy', policy]);
});

afterAll(async () => {
  await gateway?.stop();
  await target?.close();
});

describe('sphyr keys, a signed client, sphyr log', () => {
  it('keys create prints the credential alone on stdout, messages on stderr', async () => {
    const result = await runCli(['keys', 'create', '--name', 'ci-agent', '--data-dir', dataDir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^sphyr\.key_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}\n$/);
    expect(result.stderr).toContain('shown only now');
    credentialText = result.stdout.trim();
    const list = await runCli(['keys', 'list', '--json', '--data-dir', dataDir]);
    const keys = JSON.parse(list.stdout) as Array<{ id: string; name: string }>;
    expect(keys).toEqual([expect.objectContaining({ name: 'ci-agent' })]);
    // The secret never shows again.
    expect(list.stdout).not.toContain(credentialText.split('.')[2]);
  });

  it('logs an allowed and a blocked request, and log tail shows both', async () => {
    const client = new GatewayClient({
      gatewayUrl: gateway.url,
      credential: parseCredential(credentialText, 'test'),
      agent: { name: 'cli-test' },
    });
    const ok = await client.relay({ method: 'GET', url: `${target.url}/echo` });
    expect(ok.status).toBe(200);
    await expect(client.relay({ method: 'GET', url: 'http://169.254.169.254/' })).rejects.toMatchObject({
      code: 'ssrf_metadata',
    });
    const tail = await runCli(['log', 'tail', '--json', '--data-dir', dataDir]);
    expect(tail.code).toBe(0);
    const records = tail.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => [r.outcome, r.reason])).toEqual([
      ['allowed', 'allowed'],
      ['blocked', 'ssrf_metadata'],
    ]);
    const human = await runCli(['log', 'tail', '--data-dir', dataDir]);
    expect(human.stdout).toContain('ssrf_metadata');
  });

  it('log tail names the agent and key (ids beside them), says the kind, and filters by agent name', async () => {
    const tail = await runCli(['log', 'tail', '--json', '--data-dir', dataDir]);
    const records = tail.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const r of records) {
      expect(r).toMatchObject({ agentName: 'cli-test', keyName: 'ci-agent', kind: 'relay' });
      expect(r.agentId).toMatch(/^agt_/);
    }
    const human = await runCli(['log', 'tail', '--data-dir', dataDir]);
    const lines = human.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatch(/ relay +/);
      expect(line).toMatch(/ agent="cli-test" \(agt_[A-Za-z0-9_-]+\) key="ci-agent" \(key_[A-Za-z0-9_-]+\) /);
    }
    const byName = await runCli(['log', 'tail', '--agent', 'cli-test', '--data-dir', dataDir]);
    expect(byName.stdout.trim().split('\n')).toHaveLength(2);
    const agentId = String(records[0]?.agentId);
    const byId = await runCli(['log', 'tail', '--agent', agentId, '--data-dir', dataDir]);
    expect(byId.stdout.trim().split('\n')).toHaveLength(2);
    const nobody = await runCli(['log', 'tail', '--agent', 'nobody', '--data-dir', dataDir]);
    expect([nobody.code, nobody.stdout, nobody.stderr]).toEqual([0, '', 'no records match\n']);
  });

  it('log verify passes, then fails once a record is edited in the SQLite file', async () => {
    const good = await runCli(['log', 'verify', '--data-dir', dataDir]);
    expect(good.code).toBe(0);
    expect(good.stderr).toMatch(/log verified: 2 records intact/);
    const db = new Database(databasePath(dataDir));
    db.prepare("UPDATE log SET outcome = 'allowed', reason = 'allowed', status = 200 WHERE seq = 2").run();
    db.close();
    const bad = await runCli(['log', 'verify', '--data-dir', dataDir]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/FAILED at record 2: record 2 was altered/);
  });

  it('log verify detects a deleted record', async () => {
    const other = await tempDir();
    const otherData = path.join(other, 'data');
    const created = await runCli(['keys', 'create', '--name', 'x', '--data-dir', otherData]);
    const gw = await spawnGateway(['--data-dir', otherData]);
    const client = new GatewayClient({
      gatewayUrl: gw.url,
      credential: parseCredential(created.stdout, 'test'),
      agent: { name: 'deleter' },
    });
    for (const host of ['169.254.169.254', '10.0.0.1', '100.100.100.200', '192.0.0.192']) {
      await client.relay({ method: 'GET', url: `http://${host}/` }).catch(() => undefined);
    }
    await gw.stop();
    expect((await runCli(['log', 'verify', '--data-dir', otherData])).code).toBe(0);
    const db = new Database(databasePath(otherData));
    db.prepare('DELETE FROM log WHERE seq = 4').run();
    db.close();
    const tail = await runCli(['log', 'verify', '--data-dir', otherData]);
    expect(tail.code).toBe(3);
    expect(tail.stderr).toMatch(
      /FAILED at record 4: record 4 is missing \(the log head says the log reached record 4\)/,
    );
    const db2 = new Database(databasePath(otherData));
    db2.prepare('DELETE FROM log WHERE seq = 2').run();
    db2.close();
    const middle = await runCli(['log', 'verify', '--data-dir', otherData]);
    expect(middle.code).toBe(3);
    expect(middle.stderr).toMatch(/FAILED at record 2: record 2 is missing\n {2}also: record 4 is missing/);
  });
});
