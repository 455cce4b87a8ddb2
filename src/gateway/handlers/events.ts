import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Caller } from '../authenticate.js';
import type { BodySpool } from '../body-spool.js';
import type { GatewayContext } from '../context.js';
import type { LogDraft } from '../log-draft.js';
import { sendJson } from '../refusal.js';
import type { LogRecord } from '../store/types.js';
import { readJson } from './json-body.js';

const ToolEvent = z.strictObject({
  tool: z.string().min(1).max(200),
  argsDigest: z.string().max(200),
  entropy: z.number().min(0).max(64),
  outcome: z.enum(['allowed', 'blocked', 'error']),
  reason: z.string().max(100).default('allowed'),
  durationMs: z.number().nonnegative(),
});

/** `POST /v1/events`: sphyr-mcp reports a tool call into the same log. */
export async function handleToolEvent(
  res: ServerResponse,
  body: BodySpool,
  draft: LogDraft,
  requestId: string,
  commit: () => Promise<void>,
): Promise<void> {
  const event = await readJson(body, ToolEvent);
  draft.kind = 'tool';
  draft.tool = event.tool;
  draft.argsDigest = event.argsDigest;
  draft.entropy = event.entropy;
  draft.outcome = event.outcome;
  draft.reason = event.reason;
  draft.durationMs = event.durationMs;
  draft.status = 202;
  await commit();
  sendJson(res, 202, { id: draft.id }, requestId);
}

/** What an agent may read back about itself (no client IPs, no hashes of other agents' traffic). */
function publicRecord(r: LogRecord) {
  return {
    id: r.id,
    time: new Date(r.ts).toISOString(),
    kind: r.kind,
    method: r.method,
    host: r.host,
    url: r.url,
    outcome: r.outcome,
    reason: r.reason,
    status: r.status,
    entropy: r.entropy,
    durationMs: r.durationMs,
    tool: r.tool,
  };
}

/** `GET /v1/events?limit=N`: this agent's newest records. */
export async function handleRecentEvents(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  caller: Caller,
  requestId: string,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gateway.invalid');
  const limit = Math.min(200, Math.max(1, Number.parseInt(url.searchParams.get('limit') ?? '20', 10) || 20));
  const records = await ctx.store.query({ limit, agentId: caller.agent?.id ?? '' });
  sendJson(res, 200, { records: records.map(publicRecord) }, requestId);
}
