/**
 * @module The console's home page (issue 13 item 19): what the last 24 hours looked like and what
 * state the log is in. Cheap on a large log: the window is 24 whole UTC hours, each summarized by
 * the store on its own (cost ∝ that hour's records), and hours that are over are kept in memory,
 * so a page load re-reads only the newest hour or two. The chain is never verified here: the page
 * shows the last verify's (MAC'd) result and offers the button.
 */

import type { AgentRecord, GatewayStore, LogRecord, LogSummary, Outcome } from '../store/types.js';
import { type DaySummary, dashboardPage, type HourCounts } from './dashboard-html.js';
import { sendHtml } from './http.js';
import { type ConsoleRequest, isReading, methodNotAllowed } from './request.js';

const HOUR = 3_600_000;
const HOURS = 24;
/** An hour's summary is kept once this long after it ended: a slow request is written when it ends. */
const SETTLE_MS = 5 * 60_000;
/** Hosts kept per hour; the day's top is exact unless an hour had more distinct blocked hosts. */
const HOSTS_PER_HOUR = 100;
const TOP = 8;
const LIVE_AGENTS_SHOWN = 10;

/** Per store, the summaries of hours that are over, by the hour's start. */
const settled = new WeakMap<GatewayStore, Map<number, LogSummary>>();

async function hourSummaries(store: GatewayStore, first: number, now: number): Promise<LogSummary[]> {
  let cache = settled.get(store);
  if (!cache) {
    cache = new Map();
    settled.set(store, cache);
  }
  for (const start of cache.keys()) if (start < first) cache.delete(start);
  const hours: LogSummary[] = [];
  for (let i = 0; i < HOURS; i += 1) {
    const start = first + i * HOUR;
    let summary = cache.get(start);
    if (!summary) {
      summary = await store.summarizeLog(start, start + HOUR, HOSTS_PER_HOUR);
      if (start + HOUR + SETTLE_MS <= now) cache.set(start, summary);
      // Give relays a turn between hours: SQLite calls block the event loop while they run.
      await new Promise((resolve) => setImmediate(resolve));
    }
    hours.push(summary);
  }
  return hours;
}

function top<T>(counts: Map<string, { item: T; count: number }>, n: number, key: (t: T) => string) {
  return [...counts.values()]
    .sort((a, b) => b.count - a.count || key(a.item).localeCompare(key(b.item)))
    .slice(0, n);
}

export async function summarizeDay(store: GatewayStore, now: number): Promise<DaySummary> {
  const since = (Math.floor(now / HOUR) - (HOURS - 1)) * HOUR;
  const hours = await hourSummaries(store, since, now);
  const byOutcome: Record<Outcome, number> = {
    allowed: 0,
    blocked: 0,
    rate_limited: 0,
    unauthorized: 0,
    error: 0,
  };
  const perHour: HourCounts[] = [];
  const hosts = new Map<string, { item: string; count: number }>();
  const reasons = new Map<string, { item: { outcome: Outcome; reason: string }; count: number }>();
  hours.forEach((hour, i) => {
    for (const { outcome, reason, count } of hour.reasons) {
      byOutcome[outcome] = (byOutcome[outcome] ?? 0) + count;
      perHour.push({ at: since + i * HOUR, outcome, count });
      if (reason === 'allowed') continue;
      const key = `${outcome} ${reason}`;
      const entry = reasons.get(key) ?? { item: { outcome, reason }, count: 0 };
      entry.count += count;
      reasons.set(key, entry);
    }
    for (const { host, count } of hour.blockedHosts) {
      const entry = hosts.get(host) ?? { item: host, count: 0 };
      entry.count += count;
      hosts.set(host, entry);
    }
  });
  return {
    since,
    byOutcome,
    perHour,
    blockedHosts: top(hosts, TOP, (h) => h).map(({ item, count }) => ({ host: item, count })),
    reasons: top(reasons, TOP, (r) => `${r.outcome} ${r.reason}`).map(({ item, count }) => ({
      ...item,
      count,
    })),
  };
}

/** Live agents (not expired), newest first, with the time of each one's newest record. */
async function liveAgents(store: GatewayStore, now: number) {
  const agents: AgentRecord[] = await store.listAgents({ since: now + 1, limit: 200 });
  const shown = await Promise.all(
    agents.slice(0, LIVE_AGENTS_SHOWN).map(async (agent) => {
      const [last]: LogRecord[] = await store.searchLog({ agentId: agent.id, limit: 1 });
      return { agent, lastSeen: last?.ts };
    }),
  );
  return { count: agents.length, more: agents.length === 200, shown };
}

export async function handleDashboard(r: ConsoleRequest): Promise<void> {
  if (!isReading(r)) return methodNotAllowed(r, 'GET', r.user);
  const { store } = r.ctx;
  const now = r.ctx.now();
  const [day, agents, keys, verify, newest, lastPurge] = await Promise.all([
    summarizeDay(store, now),
    liveAgents(store, now),
    store.listKeys(),
    store.lastVerify(),
    store.searchLog({ limit: 1 }),
    store.lastPurge(),
  ]);
  sendHtml(
    r.res,
    200,
    dashboardPage({
      user: r.user,
      now,
      mode: r.ctx.policy.mode,
      day,
      agents,
      keys,
      verify,
      newest: newest[0],
      lastPurge,
    }),
  );
}
