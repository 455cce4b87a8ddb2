/**
 * @module The names behind the ids in log records: people read "claude code on laptop", not
 * `agt_…`. Looked up once per page for the records on it (agents are cached by the store; keys are
 * few).
 */

import type { AgentRecord, GatewayStore, KeyRecord, LogRecord } from '../store/types.js';

export interface Names {
  agent(id: string | null): AgentRecord | undefined;
  key(id: string | null): KeyRecord | undefined;
}

export async function namesFor(store: GatewayStore, records: readonly LogRecord[]): Promise<Names> {
  const agentIds = [...new Set(records.map((r) => r.agentId).filter((id): id is string => id !== null))];
  const [keys, agents] = await Promise.all([
    records.some((r) => r.keyId !== null) ? store.listKeys() : Promise.resolve([]),
    Promise.all(agentIds.map((id) => store.getAgent(id))),
  ]);
  const agentMap = new Map(agents.filter((a): a is AgentRecord => a !== undefined).map((a) => [a.id, a]));
  const keyMap = new Map(keys.map((k) => [k.id, k]));
  return {
    agent: (id) => (id === null ? undefined : agentMap.get(id)),
    key: (id) => (id === null ? undefined : keyMap.get(id)),
  };
}
