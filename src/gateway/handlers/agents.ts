import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Caller } from '../authenticate.js';
import type { BodySpool } from '../body-spool.js';
import type { GatewayContext } from '../context.js';
import { newAgentId } from '../ids.js';
import { sendJson } from '../refusal.js';
import { readJson } from './json-body.js';

/** A client's stable, non-secret name for one agent on one machine (the clients send a SHA-256 prefix). */
export const INSTANCE_TEXT = /^[A-Za-z0-9._-]{8,128}$/;

const RegisterBody = z.strictObject({
  name: z.string().min(1).max(200),
  runtime: z.string().max(100).default('unknown'),
  version: z.string().max(100).default('unknown'),
  host: z.string().max(255).default('unknown'),
  pid: z.number().int().nonnegative().nullable().default(null),
  instance: z
    .string({ error: 'must be a string' })
    .regex(INSTANCE_TEXT, 'must be 8 to 128 characters of A-Z, a-z, 0-9, ".", "_" or "-"')
    .nullable()
    .default(null),
});

/**
 * `POST /v1/agents`: register an agent under the signing key; answers `201 {agentId, expiresAt}`.
 * With an `instance`, the key's agent of that name and instance, live or expired, is renewed
 * rather than a new one made: a restarted client is the same agent, with its history.
 */
export async function handleRegister(
  ctx: GatewayContext,
  res: ServerResponse,
  caller: Caller,
  body: BodySpool,
  requestId: string,
): Promise<void> {
  const input = await readJson(body, RegisterBody);
  const now = ctx.now();
  const agent = await ctx.store.registerAgent({
    id: newAgentId(),
    keyId: caller.key.id,
    ...input,
    createdAt: now,
    expiresAt: now + ctx.limits.agentTtlMs,
  });
  sendJson(res, 201, { agentId: agent.id, expiresAt: new Date(agent.expiresAt).toISOString() }, requestId);
}
