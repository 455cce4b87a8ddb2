import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { parseCredential } from '../../src/config/credential.js';
import { databasePath } from '../../src/gateway/store/sqlite-store.js';
import { runCli, spawnGateway } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

let target: TargetServer;

beforeAll(async () => {
  target = await startTarget();
});

afterAll(async () => {
  await target?.close();
});

describe('SIGKILL under load', () => {
  it('reopens after a kill with an intact chain and a record for every answered request', async () => {
    const dir = await tempDir();
    const dataDir = path.join(dir, 'data');
    const policy = path.join(dir, 'policy.json');
    // Limits raised so the load is relays, not 429s.
    await writeFile(
      policy,
      JSON.stringify({
        unsafeAllowRanges: ['127.0.0.0/8'],
        rateLimits: { perAgent: 100000, perKey: 100000, perIp: 100000, preAuthPerIp: 100000 },
      }),
    );
    const created = await runCli(['keys', 'create', '--name', 'load', '--data-dir', dataDir]);
    const credential = parseCredential(created.stdout, 'test');
    const gateway = await spawnGateway(['--data-dir', dataDir, '--policy', policy]);
    const client = new GatewayClient({ gatewayUrl: gateway.url, credential, agent: { name: 'load' } });
    await client.agentId();

    const answered: string[] = [];
    let failures = 0;
    let stop = false;
    const worker = async (n: number) => {
      for (let i = 0; !stop; i += 1) {
        try {
          // Mix relays to the target with blocked ones and checks, so every kind of record is in flight.
          const res =
            i % 3 === 0
              ? await client.relay({ method: 'GET', url: 'http://169.254.169.254/' }).catch((e) => e)
              : await client.relay({
                  method: 'POST',
                  url: `${target.url}/echo?w=${n}`,
                  body: Buffer.from(`req ${n} ${i}`),
                });
          if (res instanceof Response) {
            await res.arrayBuffer(); // a response counts once its last byte arrived
            answered.push(res.headers.get('sphyr-request-id') as string);
          } else if (res?.code === 'ssrf_metadata') {
            answered.push('blocked');
          } else {
            throw res;
          }
        } catch {
          failures += 1;
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, n) => worker(n));
    while (answered.length < 300) await new Promise((r) => setTimeout(r, 20));
    await gateway.stop('SIGKILL');
    stop = true;
    await Promise.all(workers);
    expect(failures).toBeGreaterThan(0); // the kill really cut requests off mid-flight

    // Restart on the same data dir: the log opens and the chain verifies.
    const again = await spawnGateway(['--data-dir', dataDir, '--policy', policy]);
    const exitCode = await again.stop();
    expect(again.stderr()).toContain('stopped');
    expect(exitCode).toBe(0);
    const verify = await runCli(['log', 'verify', '--data-dir', dataDir]);
    expect(verify.stderr).toMatch(/log verified/);
    expect(verify.code).toBe(0);

    const db = new Database(databasePath(dataDir), { readonly: true });
    const ids = new Set((db.prepare('SELECT id FROM log').all() as Array<{ id: string }>).map((r) => r.id));
    const blockedCount = (
      db.prepare("SELECT count(*) AS n FROM log WHERE reason = 'ssrf_metadata'").get() as { n: number }
    ).n;
    db.close();
    const relayed = answered.filter((id) => id !== 'blocked');
    expect(relayed.length).toBeGreaterThan(100);
    expect(relayed.filter((id) => !ids.has(id))).toEqual([]);
    expect(blockedCount).toBeGreaterThanOrEqual(answered.length - relayed.length);
  }, 60_000);
});
