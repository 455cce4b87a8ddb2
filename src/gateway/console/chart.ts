/**
 * @module Requests per bucket of time by outcome (per minute on the log page, per hour on the
 * overview), as a server-rendered SVG of stacked bars: no script, no inline style (colours come
 * from classes in console.css), a text summary for screen readers.
 */

import type { MinuteCount, Outcome } from '../store/types.js';
import { esc } from './html.js';
import { OUTCOMES } from './log-query.js';

const WIDTH = 720;
const HEIGHT = 160;
const PAD_LEFT = 36;
const PAD_BOTTOM = 20;
const PAD_TOP = 8;

/** Start of the window: `minutes` whole minutes ending with the current one. */
export function chartSince(now: number, minutes = 60): number {
  return (Math.floor(now / 60000) - (minutes - 1)) * 60000;
}

export function renderChart(counts: readonly MinuteCount[], now: number, minutes = 60): string {
  return renderBars({
    first: chartSince(now, minutes),
    bucketMs: 60_000,
    buckets: minutes,
    counts: counts.map((c) => ({ at: c.minute, outcome: c.outcome, count: c.count })),
    id: 'chart',
    caption: `Requests per minute by outcome, last ${minutes} minutes (UTC)`,
    span: `the last ${minutes} minutes`,
  });
}

export interface BarsInput {
  /** Start of the first bucket (ms) and each bucket's length. */
  first: number;
  bucketMs: number;
  buckets: number;
  /** Counts with the start of their bucket (ms). */
  counts: readonly { at: number; outcome: Outcome; count: number }[];
  /** Prefix for the element ids (unique on the page). */
  id: string;
  caption: string;
  /** "the last 60 minutes", for the text summary. */
  span: string;
}

/** Stacked bars by outcome, one per bucket, with hover titles and a text summary. */
export function renderBars(input: BarsInput): string {
  const { first, bucketMs, buckets: count, id } = input;
  const buckets = Array.from({ length: count }, () => new Map<Outcome, number>());
  const totals = new Map<Outcome, number>();
  for (const c of input.counts) {
    const i = Math.floor((c.at - first) / bucketMs);
    const bucket = buckets[i];
    if (!bucket) continue;
    bucket.set(c.outcome, (bucket.get(c.outcome) ?? 0) + c.count);
    totals.set(c.outcome, (totals.get(c.outcome) ?? 0) + c.count);
  }
  const peak = Math.max(1, ...buckets.map((b) => [...b.values()].reduce((a, n) => a + n, 0)));
  const plotW = WIDTH - PAD_LEFT;
  const plotH = HEIGHT - PAD_BOTTOM - PAD_TOP;
  const barW = plotW / count;
  const label = (i: number) => new Date(first + i * bucketMs).toISOString().slice(11, 16);
  const bars: string[] = [];
  buckets.forEach((bucket, i) => {
    let y = HEIGHT - PAD_BOTTOM;
    for (const outcome of OUTCOMES) {
      const n = bucket.get(outcome) ?? 0;
      if (!n) continue;
      const h = (n / peak) * plotH;
      y -= h;
      const x = PAD_LEFT + i * barW;
      bars.push(
        `<rect class="bar-${outcome}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, barW - 1).toFixed(1)}" height="${h.toFixed(1)}"><title>${label(i)} UTC: ${n} ${outcome}</title></rect>`,
      );
    }
  });
  const axisY = HEIGHT - PAD_BOTTOM;
  const ticks = (
    [
      [0, 'start'],
      [Math.floor(count / 2), 'middle'],
      [count - 1, 'end'],
    ] as const
  )
    .map(
      ([i, anchor]) =>
        `<text class="axis" text-anchor="${anchor}" x="${(PAD_LEFT + (anchor === 'end' ? i + 1 : i) * barW).toFixed(1)}" y="${HEIGHT - 4}">${label(i)}</text>`,
    )
    .join('');
  const summary = OUTCOMES.filter((o) => totals.get(o))
    .map((o) => `${totals.get(o)} ${o}`)
    .join(', ');
  const legend = OUTCOMES.map(
    (o) =>
      `<li><svg width="12" height="12" aria-hidden="true"><rect class="bar-${o}" width="12" height="12"/></svg> ${esc(o)}</li>`,
  ).join('');
  return `<figure class="chart">
<figcaption id="${id}-title">${esc(input.caption)}</figcaption>
<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${id}-title ${id}-summary" preserveAspectRatio="none">
<line class="axis-line" x1="${PAD_LEFT}" y1="${axisY}" x2="${WIDTH}" y2="${axisY}"/>
<text class="axis" x="0" y="${PAD_TOP + 10}">${peak}</text><text class="axis" x="0" y="${axisY}">0</text>
${bars.join('\n')}
${ticks}
</svg>
<p id="${id}-summary" class="muted">${summary ? `In ${esc(input.span)}: ${esc(summary)}.` : `No requests in ${esc(input.span)}.`}</p>
<ul class="legend">${legend}</ul>
</figure>`;
}
