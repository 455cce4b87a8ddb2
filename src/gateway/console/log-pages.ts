/**
 * @module Console pages for the request log (DESIGN §3.7): the log with filters, keyset paging and
 * a per-minute chart, a record's detail, "Verify chain", agents, and the policy with "Test a URL"
 * and retention. The router has signed the person in; POSTs check `_csrf` here.
 */

import { SphyrError } from '../../errors.js';
import { canonicalTargetText, urlVerdict } from '../handlers/check.js';
import { newDraft } from '../log-draft.js';
import type { AgentRecord } from '../store/types.js';
import { chartSince, renderChart } from './chart.js';
import { messagePage } from './html.js';
import { CONTENT_SECURITY_POLICY, sendAsset, sendHtml } from './http.js';
import {
  agentsPage,
  detailPage,
  LIVE_SCRIPT_PATH,
  LOG_LIVE_JS,
  logPage,
  type PolicyTestResult,
  policyPage,
  verifyPage,
} from './log-html.js';
import { parseLogQuery, searchLog } from './log-query.js';
import { namesFor } from './names.js';
import { type ConsoleRequest, isReading, methodNotAllowed, readCheckedForm } from './request.js';

/** The log page may load its one script and poll the API from this origin; nothing else. */
const LOG_PAGE_CSP = `${CONTENT_SECURITY_POLICY}; script-src 'self'; connect-src 'self'`;
const AGENT_WINDOW_HOURS = 24;

function notFound(r: ConsoleRequest, what = 'There is no such console page.'): void {
  sendHtml(
    r.res,
    404,
    messagePage('Not found', what, r.user, '<p><a href="/console/log">Request log</a></p>'),
  );
}

async function showLog(r: ConsoleRequest): Promise<void> {
  const query = parseLogQuery(r.url.searchParams);
  const now = r.ctx.now();
  const [records, counts, agents, keys] = await Promise.all([
    searchLog(r.ctx.store, query),
    r.ctx.store.countByMinute(chartSince(now)),
    r.ctx.store.listAgents({ since: now - AGENT_WINDOW_HOURS * 3_600_000, limit: 200 }),
    r.ctx.store.listKeys(),
  ]);
  const html = logPage({
    user: r.user,
    records,
    names: await namesFor(r.ctx.store, records),
    agentNames: agents.map((a) => a.name),
    keyNames: keys.map((k) => k.name),
    filter: query.filter,
    before: query.before,
    limit: query.limit,
    errors: query.errors,
    chart: renderChart(counts, now),
  });
  sendHtml(r.res, query.errors.length ? 400 : 200, html, { 'content-security-policy': LOG_PAGE_CSP });
}

async function verifyChain(r: ConsoleRequest): Promise<void> {
  const form = await readCheckedForm(r);
  if (!form) return;
  const started = performance.now();
  const result = await r.ctx.store.verify();
  sendHtml(r.res, 200, verifyPage(r.user, result, performance.now() - started));
}

async function showAgents(r: ConsoleRequest): Promise<void> {
  const now = r.ctx.now();
  const agents = await r.ctx.store.listAgents({ since: now - AGENT_WINDOW_HOURS * 3_600_000, limit: 200 });
  const rows: { agent: AgentRecord; lastSeen?: number }[] = await Promise.all(
    agents.map(async (agent) => {
      const [last] = await r.ctx.store.searchLog({ agentId: agent.id, limit: 1 });
      return { agent, lastSeen: last?.ts };
    }),
  );
  sendHtml(r.res, 200, agentsPage(r.user, rows, await r.ctx.store.listKeys(), now, AGENT_WINDOW_HOURS));
}

async function testUrl(
  r: ConsoleRequest,
  form: URLSearchParams,
): Promise<{ test?: PolicyTestResult; error?: string }> {
  const method = (form.get('method') ?? '').trim().toUpperCase();
  const url = canonicalTargetText((form.get('url') ?? '').trim());
  const keyId = (form.get('key') ?? '').trim();
  if (!/^[A-Z]{1,32}$/.test(method)) return { error: 'The method must be a word like GET or POST.' };
  if (!url || url.length > 16_384) return { error: 'Enter a URL to test.' };
  if (keyId && !/^[A-Za-z0-9_-]{1,200}$/.test(keyId)) return { error: 'That is not a key id.' };
  // A throwaway draft: the same parse, SSRF screen and policy as POST /v1/check, nothing sent or logged.
  const draft = newDraft('console-test', r.ctx.now(), 'check', r.ip, method);
  try {
    return { test: { method, url, keyId, ...(await urlVerdict(r.ctx, draft, keyId, method, url)) } };
  } catch (error) {
    if (error instanceof SphyrError) return { error: `${error.message} (${error.code}).` };
    throw error;
  }
}

async function policy(r: ConsoleRequest): Promise<void> {
  let outcome: { test?: PolicyTestResult; error?: string } = {};
  if (r.method === 'POST') {
    const form = await readCheckedForm(r);
    if (!form) return;
    outcome = await testUrl(r, form);
  } else if (!isReading(r)) {
    return methodNotAllowed(r, 'GET, POST', r.user);
  }
  const [keys, lastPurge] = await Promise.all([r.ctx.store.listKeys(), r.ctx.store.lastPurge()]);
  sendHtml(
    r.res,
    outcome.error ? 400 : 200,
    policyPage({ user: r.user, policy: r.ctx.policy, keys, lastPurge, now: r.ctx.now(), ...outcome }),
  );
}

export async function handleLogPages(r: ConsoleRequest): Promise<void> {
  const { path } = r;
  if (path === '/console/log' || path === '/console/log/') {
    if (!isReading(r)) return methodNotAllowed(r, 'GET', r.user);
    return showLog(r);
  }
  if (path === LIVE_SCRIPT_PATH) {
    if (!isReading(r)) return methodNotAllowed(r, 'GET', r.user);
    return sendAsset(r.res, 'text/javascript; charset=utf-8', LOG_LIVE_JS);
  }
  if (path === '/console/log/verify') {
    if (r.method !== 'POST') return methodNotAllowed(r, 'POST', r.user);
    return verifyChain(r);
  }
  const detail = /^\/console\/log\/(\d{1,15})$/.exec(path);
  if (detail) {
    if (!isReading(r)) return methodNotAllowed(r, 'GET', r.user);
    const record = await r.ctx.store.getLogRecord(Number(detail[1]));
    if (!record) return notFound(r, `There is no record ${detail[1]} (it may have been purged).`);
    return sendHtml(r.res, 200, detailPage(r.user, record, await namesFor(r.ctx.store, [record])));
  }
  if (path === '/console/agents' || path === '/console/agents/') {
    if (!isReading(r)) return methodNotAllowed(r, 'GET', r.user);
    return showAgents(r);
  }
  if (path === '/console/policy' || path === '/console/policy/') return policy(r);
  if (!isReading(r)) r.req.resume();
  return notFound(r);
}
