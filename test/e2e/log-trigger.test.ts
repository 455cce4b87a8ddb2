import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../../src/gateway/server.js';
import { parsePolicy } from '../../src/policy/index.js';
import { SPHYR_BIN } from '../helpers/cli.js';
import { LOOPBACK_TEST_POLICY, startTestGateway } from '../helpers/gateway.js';
import { startTarget } from '../helpers/target-server.js';

const run = promisify(execFile);

async function verify(dataDir: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [
      SPHYR_BIN,
      'log',
      'verify',
      '--data-dir',
      dataDir,
    ]);
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/**
 * Issue 11 review F3: with write access to sphyr.db only, a trigger that makes the gateway's own
 * insert fail for chosen requests must not hide them: the request went out, so its number stays
 * unused and `log verify` reports it missing; and a database holding a trigger is refused.
 */
describe('a trigger planted in sphyr.db', () => {
  it('cannot hide a relayed request: its record number is left missing and verify fails', async () => {
    const target = await startTarget();
    const gw = await startTestGateway();
    const dataDir = gw.dataDir;
    try {
      const client = gw.client();
      const send = (method: string, p: string) =>
        client.relay({ method, url: `${target.url}/echo${p}`, body: Buffer.from('data') }).then(
          async (r) => `${r.status} ${(await r.text()).length > 0}`,
          (e: { code?: string }) => `ERR ${e.code}`,
        );
      expect(await send('POST', '/one')).toMatch(/^200/);
      const db = new Database(path.join(dataDir, 'sphyr.db'));
      db.exec(
        `CREATE TRIGGER hide BEFORE INSERT ON log WHEN NEW.method = 'PUT' BEGIN SELECT RAISE(ABORT, 'busy'); END;`,
      );
      db.close();
      await send('PUT', '/exfil');
      expect(await send('POST', '/two')).toMatch(/^200/);
      expect(target.seen.map((r) => `${r.method} ${r.url}`)).toEqual([
        'POST /echo/one',
        'PUT /echo/exfil',
        'POST /echo/two',
      ]);
      expect(gw.warnings.join('\n')).toMatch(
        /could not write log record 2 .*missing in sphyr log verify.*trigger "hide"/s,
      );

      // With the trigger still there, verify names it.
      const withTrigger = await verify(dataDir);
      expect(withTrigger.code).toBe(3);
      expect(withTrigger.out).toContain('trigger "hide"');

      // The attacker removes it again: record 2 is still missing.
      const db2 = new Database(path.join(dataDir, 'sphyr.db'));
      db2.exec('DROP TRIGGER hide');
      db2.close();
      await gw.gateway.close();
      const after = await verify(dataDir);
      expect(after.code).toBe(3);
      expect(after.out).toMatch(/record 2 is missing|records? 2\b.*missing/);
    } finally {
      await gw.gateway.close();
      await target.close();
    }
  });

  it('is refused at start: the gateway does not run on a database someone altered', async () => {
    const gw = await startTestGateway();
    const dataDir = gw.dataDir;
    await gw.gateway.close();
    const db = new Database(path.join(dataDir, 'sphyr.db'));
    db.exec('CREATE VIEW recent AS SELECT * FROM log');
    db.exec(`CREATE TRIGGER t AFTER INSERT ON log BEGIN SELECT 1; END;`);
    db.close();
    await expect(
      startGateway({ host: '127.0.0.1', port: 0, dataDir, policy: parsePolicy(LOOPBACK_TEST_POLICY, 't') }),
    ).rejects.toMatchObject({ code: 'foreign_schema' });
  });
});
