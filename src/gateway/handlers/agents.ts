import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Caller } from '../authenticate.js';
import type { BodySpool } from '../body-spool.js';
import type { GatewayContext } from '../context.js';
import { newAgentId } from '../ids.js';
import { sendJson } from '../refusal.js';
import { readJson } from './json-body.js';

const RegisterBody = z.strictObject({
  name: z.string().min(1).max(200),
  runtime: z.string().max(100).default('unknown'),
  version: z.string().max(100).default('unknown'),
  host: z.string().max(255).default('unknown'),
  pid: z.number().int().nonnegative().nullable().default(null),
});

/** `POST /v1/agents`: register an agent under the signing key; answers `201 {agentId, expiresAt}`. */
export async function handleRegister(
  ctx: GatewayContext,
  res: ServerResponse,
  caller: Caller,
  body: BodySpool,
  requestId: string,
): Promise<void> {
  const input = await readJson(body, RegisterBody);
  const now = ctx.now();
  const agent = {
    id: newAgentId(),
    keyId: caller.key.id,
    ...input,
    createdAt: now,
    expiresAt: now + ctx.limits.agentTtlMs,
  };
  await ctx.store.putAgent(agent);
  sendJson(res, 201, { agentId: agent.id, expiresAt: new Date(agent.expiresAt).toISOString() }, requestId);
}
