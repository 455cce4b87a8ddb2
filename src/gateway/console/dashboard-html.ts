/**
 * @module The overview's HTML. Every value goes through `esc`; no script, no inline style. Each
 * number links to the log filtered to exactly the records it counts.
 */

import type { AgentRecord, KeyRecord, LogRecord, Outcome, PurgeInfo, VerifyRun } from '../store/types.js';
import { renderBars } from './chart.js';
import { csrfField, esc, formatSpan, layout, type PageUser } from './html.js';
import { formatSeconds, runtimeText } from './log-html.js';
import { filterParams, type LogFilter, OUTCOMES } from './log-query.js';

export interface HourCounts {
  at: number;
  outcome: Outcome;
  count: number;
}

export interface DaySummary {
  /** Start of the window (ms): 23 whole hours before the current one. */
  since: number;
  byOutcome: Record<Outcome, number>;
  perHour: HourCounts[];
  blockedHosts: { host: string; count: number }[];
  reasons: { outcome: Outcome; reason: string; count: number }[];
}

export interface DashboardInput {
  user: PageUser;
  now: number;
  mode: 'enforce' | 'report';
  day: DaySummary;
  agents: { count: number; more: boolean; shown: { agent: AgentRecord; lastSeen?: number }[] };
  keys: readonly KeyRecord[];
  verify: { state: 'absent' } | { state: 'ok'; run: VerifyRun } | { state: 'unauthenticated' };
  newest: LogRecord | undefined;
  lastPurge: PurgeInfo | undefined;
}

const count = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

function logLink(filter: LogFilter, since: number): string {
  const params = filterParams({ ...filter, from: since });
  return `/console/log?${esc(params.toString())}`;
}

function outcomeTiles(day: DaySummary): string {
  const total = OUTCOMES.reduce((sum, o) => sum + day.byOutcome[o], 0);
  const tile = (filter: LogFilter, n: number, label: string, cls: string) =>
    `<li class="tile ${cls}${n === 0 ? ' tile-zero' : ''}"><a href="${logLink(filter, day.since)}"><span class="tile-n">${count(n)}</span> <span class="tile-label">${esc(label)}</span></a></li>`;
  return `<ul class="tiles">
${tile({}, total, 'all requests', 'tile-all')}
${OUTCOMES.map((o) => tile({ outcome: o }, day.byOutcome[o], o, `outcome-${o}`)).join('\n')}
</ul>`;
}

function hostsTable(day: DaySummary): string {
  if (day.blockedHosts.length === 0) return '<p>Nothing was blocked.</p>';
  const rows = day.blockedHosts
    .map(
      (h) =>
        `<tr><td><a href="${logLink({ outcome: 'blocked', host: h.host }, day.since)}">${esc(h.host)}</a></td><td class="num">${count(h.count)}</td></tr>`,
    )
    .join('\n');
  return `<table class="compact"><caption>Hosts of blocked requests, most first</caption>
<thead><tr><th scope="col">Host</th><th scope="col" class="num">Blocked</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

function reasonsTable(day: DaySummary): string {
  if (day.reasons.length === 0) return '<p>No request was refused.</p>';
  const rows = day.reasons
    .map((r) => {
      // An allowed record with a refusal's reason is one report mode let through.
      const outcome = r.outcome === 'allowed' ? 'allowed (report mode)' : r.outcome;
      return `<tr><td><a href="${logLink({ outcome: r.outcome, reason: r.reason }, day.since)}"><code>${esc(r.reason)}</code></a></td><td>${esc(outcome)}</td><td class="num">${count(r.count)}</td></tr>`;
    })
    .join('\n');
  return `<table class="compact"><caption>Why requests were refused, most first</caption>
<thead><tr><th scope="col">Reason</th><th scope="col">Outcome</th><th scope="col" class="num">Requests</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

function agentsTable(input: DashboardInput): string {
  const { agents, now } = input;
  if (agents.count === 0) return '<p>No live agents: none has registered in the last few hours.</p>';
  const keyNames = new Map(input.keys.map((k) => [k.id, k.name]));
  const rows = agents.shown
    .map(({ agent: a, lastSeen }) => {
      const key = keyNames.get(a.keyId);
      return `<tr><td><a href="/console/log?agent=${encodeURIComponent(a.id)}" title="${esc(a.id)} on ${esc(a.host)}">${esc(a.name)}</a></td>
<td>${esc(a.host)}</td><td>${esc(runtimeText(a))}</td>
<td><span title="${esc(a.keyId)}">${esc(key ?? a.keyId)}</span></td>
<td>${lastSeen === undefined ? 'no requests yet' : `${esc(formatSpan(now - lastSeen))} ago`}</td></tr>`;
    })
    .join('\n');
  const more =
    agents.count > agents.shown.length
      ? ` The ${agents.shown.length} newest are shown; <a href="/console/agents">all agents</a>.`
      : ' <a href="/console/agents">All agents</a>, live and expired.';
  return `<p>${agents.more ? 'More than ' : ''}${plural(agents.count, 'live agent')}.${more}</p>
<table class="compact"><caption>Live agents, newest first (the name leads to its requests)</caption>
<thead><tr><th scope="col">Agent</th><th scope="col">Machine</th><th scope="col">Runtime</th><th scope="col">Key</th><th scope="col">Last request</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

/** A problem with the log that belongs at the top of the page, or ''. */
function chainAlert(input: DashboardInput): string {
  const { verify } = input;
  if (verify.state === 'unauthenticated') {
    return `<p class="error" role="alert">The last verify result in the database is not authentic: someone wrote it without the data dir's key. Verify the chain now.</p>`;
  }
  if (verify.state === 'ok' && !verify.run.ok) {
    const at =
      verify.run.brokenAt === null
        ? ''
        : ` at record <a href="/console/log/${verify.run.brokenAt}">${verify.run.brokenAt}</a>`;
    return `<p class="error" role="alert">The log chain is broken${at}: ${esc(verify.run.problem ?? 'unknown problem')}${
      verify.run.problems > 1 ? ` (and ${plural(verify.run.problems - 1, 'more problem')})` : ''
    }. Verified ${esc(formatSpan(input.now - verify.run.at))} ago.</p>`;
  }
  return '';
}

function chainSection(input: DashboardInput): string {
  const { verify, newest, now, lastPurge } = input;
  const lines: string[] = [];
  lines.push(
    newest
      ? `<p>Newest record: <a href="/console/log/${newest.seq}">${newest.seq}</a>, written ${esc(formatSeconds(newest.ts))}.</p>`
      : '<p>The log is empty.</p>',
  );
  if (verify.state === 'absent') {
    lines.push('<p class="warning">Not verified yet.</p>');
  } else if (verify.state === 'ok') {
    const run = verify.run;
    const span =
      run.firstSeq === null
        ? 'an empty log'
        : `records ${run.firstSeq} to ${run.lastSeq}, ${count(run.checked)} checked`;
    lines.push(
      run.ok
        ? `<p class="notice" role="status">Intact when last verified (${span}).</p>`
        : `<p class="error">Broken when last verified (${span}).</p>`,
      `<p>Verified ${esc(formatSpan(now - run.at))} ago (${esc(formatSeconds(run.at))}).</p>`,
    );
    const since = newest ? newest.seq - (run.lastSeq ?? 0) : 0;
    if (since > 0) lines.push(`<p>${plural(since, 'record')} written since, not yet verified.</p>`);
  }
  lines.push(
    lastPurge
      ? `<p class="muted">Retention: the last purge ran ${esc(formatSpan(now - lastPurge.at))} ago and removed ${plural(lastPurge.removed, 'record')}.</p>`
      : '<p class="muted">Retention: no purge has run yet.</p>',
  );
  return `${lines.join('\n')}
<p class="muted">Verifying re-computes every record's hash, the sealed head and the purge anchor; on a large log it takes a while, so this page shows the last result instead of checking on each load. <code>sphyr log verify</code> records its result here too.</p>
<form method="post" action="/console/log/verify" class="inline">${csrfField(input.user.csrfToken)}
<button type="submit" class="primary">Verify now</button></form>`;
}

export function dashboardPage(input: DashboardInput): string {
  const { day } = input;
  const sinceText = `${new Date(day.since).toISOString().slice(11, 16)} UTC on ${new Date(day.since).toISOString().slice(0, 10)}`;
  const report =
    input.mode === 'report'
      ? '<p class="warning">The policy is in <strong>report</strong> mode: requests it would deny are logged and let through.</p>'
      : '';
  const chart = renderBars({
    first: day.since,
    bucketMs: 3_600_000,
    buckets: 24,
    counts: day.perHour,
    id: 'day-chart',
    caption: 'Requests per hour by outcome, last 24 hours (UTC)',
    span: 'the last 24 hours',
  });
  return layout(
    'Overview',
    `${chainAlert(input)}${report}
<section aria-labelledby="h-day"><h2 id="h-day">Requests in the last 24 hours</h2>
<p class="muted">Since ${esc(sinceText)}, as of ${esc(formatSeconds(input.now))}. Each number opens those records in the log.</p>
${outcomeTiles(day)}
${chart}
</section>
<div class="columns">
<section aria-labelledby="h-hosts"><h2 id="h-hosts">Most-blocked hosts</h2>
${hostsTable(day)}
</section>
<section aria-labelledby="h-reasons"><h2 id="h-reasons">Top reasons</h2>
${reasonsTable(day)}
</section>
</div>
<section aria-labelledby="h-agents"><h2 id="h-agents">Live agents</h2>
${agentsTable(input)}
</section>
<section aria-labelledby="h-chain"><h2 id="h-chain">Log chain</h2>
${chainSection(input)}
</section>`,
    input.user,
  );
}
