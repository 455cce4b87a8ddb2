import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { parseCredential } from '../../src/config/credential.js';
import { databasePath } from '../../src/gateway/store/sqlite-store.js';
import { runCli, spawnGateway } from '../helpers/cli.js';
import { LOOPBACK_TEST_POLICY, tempDir } from '../helpers/gateway.js';

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s finishes the request in flight, logs it, and exits 0',
    async (signal) => {
      let arrived: () => void = () => {};
      const requestArrived = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      const slow = http.createServer((_req, res) => {
        arrived();
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part one, ');
        setTimeout(() => res.end('part two'), 800);
      });
      await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
      const dir = await tempDir();
      const dataDir = path.join(dir, 'data');
      const policy = path.join(dir, 'policy.json');
      await writeFile(policy, LOOPBACK_TEST_POLICY);
      const created = await runCli(['keys', 'create', '--name', 'drain', '--data-dir', dataDir]);
      const gateway = await spawnGateway(['--data-dir', dataDir, '--policy', policy]);
      const client = new GatewayClient({
        gatewayUrl: gateway.url,
        credential: parseCredential(created.stdout, 't'),
        agent: { name: 'drain' },
      });
      await client.agentId();
      const response = client.relay({
        method: 'GET',
        url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`,
      });
      await requestArrived;
      const exit = gateway.stop(signal);
      const res = await response;
      expect(await res.text()).toBe('part one, part two');
      expect(await exit).toBe(0);
      expect(gateway.stderr()).toContain('stopped; log flushed');
      const db = new Database(databasePath(dataDir), { readonly: true });
      const rows = db.prepare("SELECT outcome, status, bytes_out FROM log WHERE kind = 'relay'").all();
      db.close();
      expect(rows).toEqual([{ outcome: 'allowed', status: 200, bytes_out: 18 }]);
      slow.close();
    },
  );
});
