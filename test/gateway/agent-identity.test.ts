import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCredential } from '../../src/config/credential.js';
import { newKeyId } from '../../src/gateway/ids.js';
import { databasePath, SqliteStore } from '../../src/gateway/store/sqlite-store.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { errorCode, sendSigned } from '../helpers/signed-request.js';

/**
 * Issue 13 item 21: an agent that registers with the same `instance` (and name) under the same key
 * is the same agent (same id, renewed expiry), so a restarted sphyr-mcp keeps its history; a
 * registration without one is a new agent each time, as before; a malformed one is a clear 400.
 */
let th: TestGateway;
const INSTANCE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

async function register(
  body: Record<string, unknown>,
  credential = th.credential,
): Promise<{ status: number; agentId?: string; expiresAt?: string; code?: string; message?: string }> {
  const res = await sendSigned({
    gatewayUrl: th.gateway.url,
    credential,
    kind: 'register',
    path: '/v1/agents',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  const data = (await res.json()) as {
    agentId?: string;
    expiresAt?: string;
    error?: { code: string; message: string };
  };
  return { status: res.status, ...data, code: data.error?.code, message: data.error?.message };
}

/** The agent's own records, as `recent_requests` reads them. */
async function recent(agentId: string, credential = th.credential) {
  const res = await sendSigned({
    gatewayUrl: th.gateway.url,
    credential,
    kind: 'agent',
    method: 'GET',
    path: '/v1/events',
    agentId,
  });
  return {
    status: res.status,
    records: ((await res.json()) as { records?: Array<{ host: string }> }).records,
  };
}

async function check(agentId: string, url: string, credential = th.credential): Promise<Response> {
  return sendSigned({
    gatewayUrl: th.gateway.url,
    credential,
    kind: 'agent',
    path: '/v1/check',
    agentId,
    body: JSON.stringify({ method: 'GET', url }),
    headers: { 'content-type': 'application/json' },
  });
}

beforeAll(async () => {
  th = await startTestGateway(undefined, { limits: { agentTtlMs: 400 } });
});

afterAll(async () => {
  await th?.close();
});

describe('agent identity across restarts (POST /v1/agents "instance")', () => {
  it('the same key, name and instance is the same agent: same id, renewed expiry, new pid and version', async () => {
    const first = await register({ name: 'sphyr-mcp', version: '1.0.0', pid: 101, instance: INSTANCE });
    expect(first.status).toBe(201);
    expect((await check(first.agentId as string, 'http://first.example/')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    const again = await register({ name: 'sphyr-mcp', version: '1.0.1', pid: 202, instance: INSTANCE });
    expect(again.status).toBe(201);
    expect(again.agentId).toBe(first.agentId);
    expect(Date.parse(again.expiresAt as string)).toBeGreaterThan(Date.parse(first.expiresAt as string));
    const stored = await th.gateway.store.getAgent(first.agentId as string);
    expect(stored).toMatchObject({ pid: 202, version: '1.0.1', name: 'sphyr-mcp' });
    // The first run's record is the restarted agent's history.
    const { records } = await recent(again.agentId as string);
    expect(records?.map((r) => r.host)).toContain('first.example');
    const all = await th.gateway.store.listAgents({ since: 0 });
    expect(all.filter((a) => a.name === 'sphyr-mcp')).toHaveLength(1);
  });

  it('an expired agent comes back under its id when it registers again with its instance', async () => {
    const first = await register({ name: 'returns', instance: INSTANCE });
    expect((await check(first.agentId as string, 'http://before.example/')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 600)); // past agentTtlMs
    const expired = await check(first.agentId as string, 'http://late.example/');
    expect(expired.status).toBe(401);
    expect(await errorCode(expired)).toBe('agent_expired');
    const again = await register({ name: 'returns', instance: INSTANCE });
    expect(again.agentId).toBe(first.agentId);
    expect((await check(again.agentId as string, 'http://after.example/')).status).toBe(200);
    const { records } = await recent(again.agentId as string);
    expect(records?.map((r) => r.host)).toEqual(['after.example', 'before.example']);
  });

  it('without an instance every registration is a new agent, as older clients expect', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await register({ name: 'old-client', pid: 7 });
      expect(r.status).toBe(201);
      ids.add(r.agentId as string);
    }
    expect(ids.size).toBe(3);
    const nulled = await register({ name: 'old-client', instance: null });
    expect(nulled.status).toBe(201);
    expect(ids.has(nulled.agentId as string)).toBe(false);
  });

  it('another instance, another name or another key is another agent, and sees none of its records', async () => {
    const base = await register({ name: 'ide', instance: 'machine-a-claude-code-0001' });
    const otherIde = await register({ name: 'ide', instance: 'machine-a-cursor-000000001' });
    const otherName = await register({ name: 'ide-2', instance: 'machine-a-claude-code-0001' });
    const credential = generateCredential(newKeyId());
    await th.gateway.store.createKey(credential.keyId, 'other', credential.secret, Date.now());
    const otherKey = await register({ name: 'ide', instance: 'machine-a-claude-code-0001' }, credential);
    const ids = [base, otherIde, otherName, otherKey].map((r) => r.agentId);
    expect(new Set(ids).size).toBe(4);
    expect((await check(base.agentId as string, 'http://secret-host.example/')).status).toBe(200);
    // The other key cannot take the first key's agent by naming its instance, nor read its records.
    const { records } = await recent(otherKey.agentId as string, credential);
    expect(records?.map((r) => r.host) ?? []).not.toContain('secret-host.example');
    expect((await recent(base.agentId as string, credential)).status).toBe(401);
  });

  it.each([
    ['empty', ''],
    ['too short', 'abc'],
    ['too long', 'a'.repeat(129)],
    ['a space', 'machine a claude code'],
    ['a slash', 'machine/a/claude-code'],
    ['non-ASCII', 'maschine-ä-claude-code'],
    ['a number', 12345678901234],
    ['an object', { machine: 'a' }],
  ])('answers 400 bad_request naming the field for an instance with %s', async (_what, instance) => {
    const r = await register({ name: 'bad', instance });
    expect(r.status).toBe(400);
    expect(r.code).toBe('bad_request');
    expect(r.message).toMatch(/^instance: /);
    const agents = await th.gateway.store.listAgents({ since: 0 });
    expect(agents.filter((a) => a.name === 'bad')).toHaveLength(0);
  });
});

describe('a data dir from before the instance column', () => {
  it('opens, keeps its agents, and registers by instance', async () => {
    const dir = await tempDir();
    const first = await SqliteStore.open(dir);
    const now = Date.now();
    await first.putAgent({
      id: 'agt_oldAAAAAAAAAAAAAAAAAAAAAAAAA',
      keyId: 'key_old',
      name: 'old',
      runtime: 'node',
      version: '1',
      host: 'h',
      pid: 1,
      createdAt: now,
      expiresAt: now + 60_000,
    });
    await first.close();
    // Make the agents table what older versions created: no instance column, no index on it.
    const db = new Database(databasePath(dir));
    db.exec('DROP INDEX IF EXISTS agents_instance');
    db.exec('ALTER TABLE agents DROP COLUMN instance');
    db.close();

    const store = await SqliteStore.open(dir);
    try {
      expect(await store.getAgent('agt_oldAAAAAAAAAAAAAAAAAAAAAAAAA')).toMatchObject({ name: 'old' });
      const agent = {
        keyId: 'key_old',
        name: 'old',
        runtime: 'node',
        version: '2',
        host: 'h',
        pid: 2,
        instance: INSTANCE,
        createdAt: now,
        expiresAt: now + 60_000,
      };
      const a = await store.registerAgent({ ...agent, id: 'agt_newAAAAAAAAAAAAAAAAAAAAAAAAA' });
      const b = await store.registerAgent({ ...agent, id: 'agt_newBBBBBBBBBBBBBBBBBBBBBBBBB', pid: 3 });
      expect(b.id).toBe(a.id);
      expect(b.pid).toBe(3);
    } finally {
      await store.close();
    }
  });
});
