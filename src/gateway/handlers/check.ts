import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { SphyrPolicyError } from '../../errors.js';
import { evaluateToolPolicy } from '../../policy/decide.js';
import type { Caller } from '../authenticate.js';
import type { BodySpool } from '../body-spool.js';
import type { GatewayContext } from '../context.js';
import type { LogDraft } from '../log-draft.js';
import { sendJson } from '../refusal.js';
import { readJson } from './json-body.js';
import { parseTarget, vetTarget } from './target.js';

const UrlCheck = z.strictObject({ method: z.string().min(1).max(32), url: z.string().min(1).max(16_384) });
const ToolCheck = z.strictObject({ tool: z.string().min(1).max(200) });
const CheckBody = z.union([UrlCheck, ToolCheck], {
  error: 'expected {"method","url"} to check a request or {"tool"} to check an MCP tool call',
});

/**
 * `POST /v1/check`: the verdict for `{method,url}` without sending anything, or for `{tool}` before
 * sphyr-mcp forwards a `tools/call`. A tool check is not logged itself: the tool-call event that
 * sphyr-mcp reports next is the record, so one call is one record.
 */
export async function handleCheck(
  ctx: GatewayContext,
  res: ServerResponse,
  caller: Caller,
  body: BodySpool,
  draft: LogDraft,
  requestId: string,
  commit: () => Promise<void>,
): Promise<void> {
  const input = await readJson(body, CheckBody);
  if ('tool' in input) {
    sendJson(res, 200, evaluateToolPolicy(ctx.policy, caller.key.id, input.tool), requestId);
    return;
  }
  const method = input.method.toUpperCase();
  draft.method = method;
  const verdict = await urlVerdict(ctx, draft, caller.key.id, method, input.url);
  draft.outcome = verdict.verdict === 'allow' ? 'allowed' : 'blocked';
  draft.reason = verdict.reason;
  draft.status = 200;
  await commit();
  sendJson(res, 200, verdict, requestId);
}

/**
 * The verdict `/v1/check` gives for `method url` under `keyId`: the same parse, SSRF screen and
 * policy as a relay, nothing sent. The console's "Test a URL" form asks it too. Errors that are not
 * a policy verdict (a malformed target) are thrown.
 */
export async function urlVerdict(
  ctx: GatewayContext,
  draft: LogDraft,
  keyId: string,
  method: string,
  url: string,
): Promise<{ verdict: 'allow' | 'block'; reason: string }> {
  try {
    const target = parseTarget(canonicalTargetText(url), draft, ctx);
    const vetted = await vetTarget(ctx, draft, keyId, method, target);
    return { verdict: 'allow', reason: vetted.reportReason ?? 'allowed' };
  } catch (error) {
    if (!(error instanceof SphyrPolicyError)) throw error;
    return { verdict: 'block', reason: error.code };
  }
}

/** The caller may send any spelling; the verdict is for its canonical form. */
export function canonicalTargetText(text: string): string {
  try {
    const url = new URL(text);
    url.hash = '';
    return url.href;
  } catch {
    return text;
  }
}
