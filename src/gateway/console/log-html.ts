/**
 * @module The HTML of the request log, a record's detail, agents and policy pages. Every value goes
 * through `esc`; the only script is the optional live-updates file (LOG_LIVE_JS), served from
 * 'self' — every page works without it.
 */

import type { Policy } from '../../policy/index.js';
import type { AgentRecord, KeyRecord, LogRecord, PurgeInfo, VerifyResult } from '../store/types.js';
import { csrfField, esc, formatSpan, layout, type PageUser } from './html.js';
import { filterParams, type LogFilter, OUTCOMES, timeInputValue } from './log-query.js';
import type { Names } from './names.js';

export const LIVE_SCRIPT_PATH = '/console/log/live.js';

/** "2025-01-31 13:45:07 UTC" */
export function formatSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function dash(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === '' ? '—' : esc(value);
}

function verifyForm(user: PageUser): string {
  return `<form method="post" action="/console/log/verify" class="inline">${csrfField(user.csrfToken)}
<button type="submit">Verify chain</button></form>`;
}

/** An agent by name, linked to its records, the id (and machine) on hover; its id if unknown. */
export function agentCell(id: string | null, names: Names): string {
  if (id === null) return '—';
  const agent = names.agent(id);
  if (!agent) return `<code>${esc(id)}</code>`;
  return `<a href="/console/log?agent=${encodeURIComponent(id)}" title="${esc(id)} on ${esc(agent.host)}">${esc(agent.name)}</a>`;
}

export function keyCell(id: string | null, names: Names): string {
  if (id === null) return '—';
  const key = names.key(id);
  if (!key) return `<code>${esc(id)}</code>`;
  return `<a href="/console/log?key=${encodeURIComponent(id)}" title="${esc(id)}">${esc(key.name)}</a>`;
}

/** "node 20.20.0", leaving out a version the agent did not give. */
export function runtimeText(a: AgentRecord): string {
  return a.version && a.version !== 'unknown' ? `${a.runtime} ${a.version}` : a.runtime;
}

/** Where a record went: a relay's or check's host, a tool call's tool. */
function target(r: LogRecord): string {
  return r.kind === 'tool' || (r.host === null && r.tool !== null) ? dash(r.tool) : dash(r.host);
}

function logRow(r: LogRecord, names: Names): string {
  return `<tr><td><a href="/console/log/${r.seq}" aria-label="Record ${r.seq} details">${r.seq}</a></td>
<td>${esc(formatSeconds(r.ts))}</td><td>${esc(r.kind)}</td><td>${r.kind === 'tool' ? '—' : dash(r.method)}</td><td>${target(r)}</td>
<td><span class="outcome outcome-${esc(r.outcome)}">${esc(r.outcome)}</span></td><td>${esc(r.reason)}</td>
<td>${r.status}</td><td>${esc(Math.round(r.durationMs))} ms</td><td>${agentCell(r.agentId, names)}</td><td>${keyCell(r.keyId, names)}</td></tr>`;
}

function datalist(id: string, values: readonly string[]): string {
  const options = [...new Set(values)].map((v) => `<option value="${esc(v)}">`).join('');
  return `<datalist id="${id}">${options}</datalist>`;
}

export interface LogPageInput {
  user: PageUser;
  records: LogRecord[];
  names: Names;
  /** Suggestions for the agent and key filters. */
  agentNames: readonly string[];
  keyNames: readonly string[];
  filter: LogFilter;
  before?: number;
  limit: number;
  errors: string[];
  chart: string;
}

export function logPage(input: LogPageInput): string {
  const { user, records, filter, before, limit, errors } = input;
  const query = filterParams(filter);
  const error = errors.length
    ? `<p class="error" role="alert">Not all filters applied: ${esc(errors.join('; '))}.</p>`
    : '';
  const options = ['', ...OUTCOMES]
    .map(
      (o) =>
        `<option value="${o}"${filter.outcome === o || (!filter.outcome && !o) ? ' selected' : ''}>${o || 'any'}</option>`,
    )
    .join('');
  const form = `<form method="get" action="/console/log" class="filters" role="search" aria-label="Filter the log">
<div><label for="f-outcome">Outcome</label><select id="f-outcome" name="outcome">${options}</select></div>
<div><label for="f-agent">Agent</label><input id="f-agent" name="agent" list="agent-names" value="${esc(filter.agent ?? '')}" maxlength="200" placeholder="name or id">${datalist('agent-names', input.agentNames)}</div>
<div><label for="f-key">Key</label><input id="f-key" name="key" list="key-names" value="${esc(filter.key ?? '')}" maxlength="200" placeholder="name or id">${datalist('key-names', input.keyNames)}</div>
<div><label for="f-reason">Reason</label><input id="f-reason" name="reason" value="${esc(filter.reason ?? '')}" maxlength="100" placeholder="ssrf_private"></div>
<div><label for="f-host">Host</label><input id="f-host" name="host" value="${esc(filter.host ?? '')}" maxlength="300" placeholder="api.example.com"></div>
<div><label for="f-from">From (UTC)</label><input id="f-from" name="from" type="datetime-local" value="${timeInputValue(filter.from)}"></div>
<div><label for="f-to">To (UTC)</label><input id="f-to" name="to" type="datetime-local" value="${timeInputValue(filter.to)}"></div>
<div class="filter-actions"><button type="submit" class="primary">Filter</button> <a href="/console/log">Clear</a></div>
</form>`;
  const live = before === undefined;
  const newest = records[0]?.seq ?? 0;
  const rows = records.map((r) => logRow(r, input.names)).join('\n');
  const older =
    records.length === limit
      ? (() => {
          const p = new URLSearchParams(query);
          p.set('before', String(records.at(-1)?.seq));
          return `<a href="/console/log?${esc(p.toString())}" rel="next">Older records</a>`;
        })()
      : '<span class="muted">No older records.</span>';
  const newer =
    before === undefined ? '' : `<a href="/console/log?${esc(query.toString())}">Newest records</a>`;
  const table = `<table class="log">
<caption>Requests, newest first${before === undefined ? '' : ` (before record ${esc(before)})`}</caption>
<thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Method</th><th scope="col">Target</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Agent</th><th scope="col">Key</th></tr></thead>
<tbody id="log-rows"${live ? ` data-live="1" data-after="${newest}" data-query="${esc(query.toString())}"` : ''}>
${rows}
</tbody></table>
${records.length === 0 ? '<p id="log-empty">No records match.</p>' : ''}`;
  return layout(
    'Request log',
    `${input.chart}
<h2>Filter</h2>
${error}${form}
<h2>Records</h2>
<p id="live-status" class="muted" role="status">${live ? 'Reload for new records (live updates need JavaScript).' : ''}</p>
${table}
<nav aria-label="Pages" class="pager">${newer} ${older}</nav>
<h2>Integrity</h2>
<p>Every record is chained to the one before it; verifying re-computes the chain over the whole log.</p>
${verifyForm(user)}
${live ? `<script src="${LIVE_SCRIPT_PATH}" defer></script>` : ''}`,
    user,
  );
}

export function detailPage(user: PageUser, r: LogRecord, names: Names): string {
  const agent = names.agent(r.agentId);
  const key = names.key(r.keyId);
  const agentHtml =
    agent && r.agentId
      ? `${esc(agent.name)} (<code>${esc(r.agentId)}</code>), ${esc(runtimeText(agent))} on ${esc(agent.host)}${agent.pid === null ? '' : ` (pid ${agent.pid})`}`
      : dash(r.agentId);
  const keyHtml = key && r.keyId ? `${esc(key.name)} (<code>${esc(r.keyId)}</code>)` : dash(r.keyId);
  // [label, HTML]: plain values are escaped here, the two name cells above already are.
  const plain = (label: string, value: string): [string, string] => [label, dash(value)];
  const rows: [string, string][] = [
    plain('Record', String(r.seq)),
    plain('Id', r.id),
    plain('Time', formatSeconds(r.ts)),
    plain('Kind', r.kind),
    plain('Method', r.method ?? ''),
    plain('Host', r.host ?? ''),
    plain('URL', r.url ?? '(not stored: the policy keeps only its hash)'),
    plain('URL hash', r.urlHash ?? ''),
    plain('Outcome', r.outcome),
    plain('Reason', r.reason),
    plain('Entropy (bits/byte)', r.entropy === null ? '' : r.entropy.toFixed(2)),
    plain('Status', String(r.status)),
    plain('Duration', `${r.durationMs.toFixed(1)} ms`),
    plain('Bytes in / out', `${r.bytesIn} / ${r.bytesOut}`),
    ['Agent', agentHtml],
    ['Key', keyHtml],
    plain('Client IP', r.clientIp ?? ''),
    plain('Tool', r.tool ?? ''),
    plain('Arguments digest', r.argsDigest ?? ''),
    plain('Signature', r.signature ?? ''),
    plain('Previous hash', r.prevHash),
    plain('Hash', r.hash),
  ];
  const table = rows
    .map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td class="wrap">${v}</td></tr>`)
    .join('\n');
  const links: string[] = [];
  if (r.agentId)
    links.push(`<a href="/console/log?agent=${encodeURIComponent(r.agentId)}">This agent's requests</a>`);
  if (agent && agent.name !== r.agentId)
    links.push(
      `<a href="/console/log?agent=${encodeURIComponent(agent.name)}">Every agent named ${esc(agent.name)}</a>`,
    );
  if (r.host)
    links.push(`<a href="/console/log?host=${encodeURIComponent(r.host)}">Requests to this host</a>`);
  return layout(
    `Record ${r.seq}`,
    `<table class="details"><caption>Log record ${r.seq}</caption>
${table}
</table>
<p>${[...links, `<a href="/console/log?before=${r.seq + 1}">Log from here</a>`, '<a href="/console/log">Back to the log</a>'].join(' · ')}</p>
${verifyForm(user)}`,
    user,
  );
}

export function verifyPage(user: PageUser, result: VerifyResult, ms: number): string {
  const [first, ...rest] = result.problems;
  const more = rest.length
    ? `<p>Also found:</p>\n<ul>${rest.map((p) => `<li>${esc(p.message)}</li>`).join('')}</ul>`
    : '';
  const notes = result.notes.map((n) => `<p class="notice">Note: ${esc(n)}.</p>`).join('\n');
  const body = result.ok
    ? `<p class="notice" role="status">Chain intact: ${result.checked} record${result.checked === 1 ? '' : 's'} checked${
        result.firstSeq === null ? '' : ` (records ${result.firstSeq} to ${result.lastSeq})`
      } in ${Math.round(ms)} ms.</p>`
    : `<p class="error" role="alert">Chain broken${first?.seq === null ? '' : ` at record ${esc(result.brokenAt ?? '?')}`}: ${esc(result.problem ?? 'unknown problem')}.</p>
${more}
<p>${result.checked} record${result.checked === 1 ? '' : 's'} verified intact.${
        first?.seq !== null && result.brokenAt
          ? ` <a href="/console/log/${esc(result.brokenAt)}">Open record ${esc(result.brokenAt)}</a>`
          : ''
      }</p>`;
  return layout(
    'Verify the log chain',
    `${body}\n${notes}<p><a href="/console">Back to the overview</a> · <a href="/console/log">Back to the log</a></p>`,
    user,
  );
}

export function agentsPage(
  user: PageUser,
  agents: readonly { agent: AgentRecord; lastSeen?: number }[],
  keys: readonly KeyRecord[],
  now: number,
  sinceHours: number,
): string {
  const keyNames = new Map(keys.map((k) => [k.id, k.name]));
  const rows = agents
    .map(({ agent: a, lastSeen }) => {
      const live = a.expiresAt > now;
      const keyName = keyNames.get(a.keyId);
      return `<tr><td><a href="/console/log?agent=${encodeURIComponent(a.id)}" title="This agent's requests">${esc(a.name)}</a><br><code class="muted id">${esc(a.id)}</code></td>
<td>${esc(runtimeText(a))}</td><td>${esc(a.host)}${a.pid === null ? '' : ` (pid ${a.pid})`}</td>
<td>${keyName === undefined ? '' : `${esc(keyName)}<br>`}<code class="muted id">${esc(a.keyId)}</code></td>
<td>${esc(formatSeconds(a.createdAt))}</td><td>${live ? `live (expires in ${esc(formatSpan(a.expiresAt - now))})` : 'expired'}</td>
<td>${lastSeen === undefined ? 'no requests' : `${esc(formatSpan(now - lastSeen))} ago`}</td></tr>`;
    })
    .join('\n');
  const table = agents.length
    ? `<table class="agents"><caption>Agents registered or live in the last ${sinceHours} hours, newest first (the name leads to its requests)</caption>
<thead><tr><th scope="col">Agent</th><th scope="col">Runtime</th><th scope="col">Machine</th><th scope="col">Key</th><th scope="col">Registered</th><th scope="col">Status</th><th scope="col">Last request</th></tr></thead>
<tbody>
${rows}
</tbody></table>`
    : `<p>No agents in the last ${sinceHours} hours.</p>`;
  return layout('Agents', table, user);
}

export interface PolicyTestResult {
  method: string;
  url: string;
  keyId: string;
  verdict: 'allow' | 'block';
  reason: string;
}

export function policyPage(input: {
  user: PageUser;
  policy: Policy;
  keys: readonly KeyRecord[];
  lastPurge?: PurgeInfo;
  now: number;
  test?: PolicyTestResult;
  error?: string;
}): string {
  const { user, policy, keys, test } = input;
  const json = JSON.stringify(policy, null, 2);
  const keyOptions = [
    `<option value="">(no key: the policy without per-key overrides)</option>`,
    ...keys
      .filter((k) => k.revokedAt === null)
      .map(
        (k) =>
          `<option value="${esc(k.id)}"${test?.keyId === k.id ? ' selected' : ''}>${esc(k.id)} (${esc(k.name)})</option>`,
      ),
  ].join('');
  const result = test
    ? `<div id="test-result" class="${test.verdict === 'allow' ? 'notice' : 'warning'}" role="status">
<p><strong>Verdict: ${esc(test.verdict)}</strong> (reason: <code>${esc(test.reason)}</code>) for ${esc(test.method)} <code>${esc(test.url)}</code>.</p>
<p class="muted">Nothing was sent to the target; the check ran the same screening and policy as <code>POST /v1/check</code>.</p></div>`
    : '';
  const error = input.error ? `<p class="error" role="alert">${esc(input.error)}</p>` : '';
  const purge = input.lastPurge
    ? `The last purge ran ${esc(formatSeconds(input.lastPurge.at))} (${esc(formatSpan(input.now - input.lastPurge.at))} ago) and removed ${input.lastPurge.removed} record${input.lastPurge.removed === 1 ? '' : 's'}.`
    : 'No purge has run yet.';
  return layout(
    'Policy',
    `<p>Mode: <strong>${esc(policy.mode)}</strong>${policy.mode === 'report' ? ' (denials are logged, not enforced)' : ''}. The policy is read from the gateway's policy file at start.</p>
<h2 id="test-heading">Test a URL</h2>
${error}${result}
<form method="post" action="/console/policy" class="stack" aria-labelledby="test-heading">${csrfField(user.csrfToken)}
<label for="t-method">Method</label>
<input id="t-method" name="method" required maxlength="32" value="${esc(test?.method ?? 'GET')}">
<label for="t-url">URL</label>
<input id="t-url" name="url" type="url" required maxlength="16384" value="${esc(test?.url ?? '')}" placeholder="https://api.example.com/v1/items">
<label for="t-key">As key</label>
<select id="t-key" name="key">${keyOptions}</select>
<button type="submit" class="primary">Test</button>
</form>
<h2>Retention</h2>
<p>Log records are kept for <strong>${policy.retentionDays} day${policy.retentionDays === 1 ? '' : 's'}</strong>; older ones are purged hourly. ${purge}</p>
<h2>Current policy</h2>
<pre class="policy"><code>${esc(json)}</code></pre>`,
    user,
  );
}

/**
 * Live updates for the log page: polls `GET /v1/console/log?after=<newest seq>&<filters>` and
 * prepends new rows (built with textContent, never HTML). Optional: the page works without it.
 */
export const LOG_LIVE_JS = `'use strict';
(() => {
  const body = document.getElementById('log-rows');
  const status = document.getElementById('live-status');
  if (!body || !body.dataset.live) return;
  let after = Number(body.dataset.after || 0);
  const query = body.dataset.query || '';
  const cell = (tr, text) => {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined || text === '' ? '—' : String(text);
    tr.appendChild(td);
    return td;
  };
  // The agent or key by name, linked to its records, the id on hover; the id alone if unnamed.
  const named = (tr, param, id, name, title) => {
    const td = cell(tr, id);
    if (!id) return;
    td.textContent = '';
    if (name) {
      const a = document.createElement('a');
      a.href = '/console/log?' + param + '=' + encodeURIComponent(id);
      a.title = title;
      a.textContent = name;
      td.appendChild(a);
    } else {
      const code = document.createElement('code');
      code.textContent = id;
      td.appendChild(code);
    }
  };
  const row = (r) => {
    const tr = document.createElement('tr');
    tr.className = 'new';
    const first = document.createElement('td');
    const a = document.createElement('a');
    a.href = '/console/log/' + r.seq;
    a.textContent = String(r.seq);
    a.setAttribute('aria-label', 'Record ' + r.seq + ' details');
    first.appendChild(a);
    tr.appendChild(first);
    cell(tr, r.time.slice(0, 19).replace('T', ' ') + ' UTC');
    cell(tr, r.kind);
    // A tool call's method is only that of its report to the gateway.
    cell(tr, r.kind === 'tool' ? null : r.method);
    cell(tr, r.kind === 'tool' || (r.host === null && r.tool !== null) ? r.tool : r.host);
    const o = cell(tr, '');
    const span = document.createElement('span');
    span.className = 'outcome outcome-' + r.outcome;
    span.textContent = r.outcome;
    o.textContent = '';
    o.appendChild(span);
    cell(tr, r.reason);
    cell(tr, r.status);
    cell(tr, Math.round(r.durationMs) + ' ms');
    named(tr, 'agent', r.agentId, r.agentName, r.agentHost ? r.agentId + ' on ' + r.agentHost : r.agentId);
    named(tr, 'key', r.keyId, r.keyName, r.keyId);
    return tr;
  };
  const say = (text) => { if (status) status.textContent = text; };
  say('Live: new records appear here.');
  const poll = async () => {
    try {
      const res = await fetch('/v1/console/log?limit=200&after=' + after + (query ? '&' + query : ''), {
        headers: { accept: 'application/json' },
        credentials: 'same-origin',
      });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const data = await res.json();
      const records = data.records || [];
      for (let i = records.length - 1; i >= 0; i--) body.insertBefore(row(records[i]), body.firstChild);
      if (records.length) {
        after = records[0].seq;
        const empty = document.getElementById('log-empty');
        if (empty) empty.remove();
        while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
        say(
          records.length === 200
            ? 'Live: more than 200 new records since the last look; reload the page to see them all.'
            : 'Live: ' + records.length + ' new record' + (records.length === 1 ? '' : 's') + ' at ' + new Date().toISOString().slice(11, 19) + ' UTC.',
        );
      }
    } catch (error) {
      say('Live updates paused (' + error.message + '); reload the page to see new records.');
    }
    setTimeout(poll, 3000);
  };
  setTimeout(poll, 3000);
})();
`;
