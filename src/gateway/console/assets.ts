/** The console's one stylesheet, served from /console/assets/console.css (the CSP allows only 'self'). */
export const CONSOLE_CSS = `:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fbfbfc; --muted: #5b636e; --line: #d5d9df;
  --accent: #0b5cad; --danger: #b3261e; --warn-bg: #fff4d6; --ok-bg: #e6f4ea; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #15181c; --muted: #a0a8b3; --line: #39404a;
  --accent: #6cb0ff; --danger: #ff8a80; --warn-bg: #3b3217; --ok-bg: #183323; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; padding: .5rem 1.5rem; border-bottom: 1px solid var(--line); }
header nav { display: flex; flex: 1 1 28rem; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 1rem; }
header ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
.brand { margin: 0; font-weight: 700; }
main { max-width: 64rem; padding: 1rem 1.5rem 3rem; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: .5rem; background: var(--bg); padding: .25rem .5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.stack { display: grid; gap: .5rem; max-width: 22rem; }
fieldset { border: 1px solid var(--line); border-radius: 4px; padding: .4rem .8rem .6rem; margin: 0; min-width: 0; }
/* One checkbox per line, right before the words it ticks: the two never wrap apart. */
.checks { display: grid; gap: .3rem; }
.check { display: flex; align-items: center; gap: .5rem; }
.check input { margin: 0; padding: 0; width: 1rem; height: 1rem; flex: none; }
.inline { display: inline-flex; flex-wrap: wrap; align-items: center; gap: .4rem; margin: .15rem .4rem .15rem 0; }
input { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
button { font: inherit; padding: .35rem .9rem; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { color: var(--danger); border-color: var(--danger); }
.signout { display: flex; align-items: center; gap: .5rem; margin: 0; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; color: var(--muted); padding-bottom: .25rem; }
th, td { text-align: left; vertical-align: top; padding: .4rem .6rem; border-bottom: 1px solid var(--line); }
.details th { width: 12rem; }
.actions { display: flex; gap: 1rem; }
.error { color: var(--danger); font-weight: 600; }
.warning { background: var(--warn-bg); padding: .6rem .8rem; border-radius: 4px; }
.notice { background: var(--ok-bg); padding: .6rem .8rem; border-radius: 4px; }
.muted { color: var(--muted); }
.credential { width: 100%; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.cards { padding-left: 1.2rem; }
main:has(table.log), main:has(table.agents) { max-width: 80rem; }
code.id { white-space: nowrap; }
select { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
select:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.filters { display: flex; flex-wrap: wrap; align-items: flex-end; gap: .6rem 1rem; }
.filters > div { display: grid; gap: .2rem; }
.filters input { width: 11rem; }
.filter-actions { display: flex !important; align-items: center; gap: .6rem; }
table.log td, table.log th { padding: .3rem .45rem; font-size: .92rem; }
table.log tr.new { background: var(--ok-bg); }
.outcome { font-weight: 600; }
.outcome-allowed { color: #1e7d36; }
.outcome-blocked, .outcome-unauthorized { color: var(--danger); }
.outcome-rate_limited { color: #9a6700; }
.outcome-error { color: var(--muted); }
.pager { display: flex; gap: 1.5rem; margin-bottom: 1rem; }
.wrap { overflow-wrap: anywhere; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9rem; }
.chart { margin: 0 0 1rem; }
.chart > svg { width: 100%; height: 10rem; display: block; border-bottom: 1px solid var(--line); }
.chart .axis { font-size: 10px; fill: var(--muted); }
.chart .axis-line { stroke: var(--line); }
.bar-allowed { fill: #2da44e; }
.bar-blocked { fill: #cf222e; }
.bar-rate_limited { fill: #d4a72c; }
.bar-unauthorized { fill: #8250df; }
.bar-error { fill: #6e7781; }
.legend { display: flex; flex-wrap: wrap; gap: 1rem; list-style: none; padding: 0; margin: .25rem 0; font-size: .9rem; }
/* The overview: a row of counts, two tables side by side where there is room. */
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .6rem; list-style: none; padding: 0; margin: .5rem 0 1rem; }
.tile a { display: block; padding: .6rem .8rem; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; color: var(--fg); }
.tile a:hover, .tile a:focus-visible { border-color: var(--accent); }
.tile-n { display: block; font-size: 1.6rem; font-weight: 700; line-height: 1.2; }
.tile-label { color: var(--muted); font-size: .9rem; }
.tile.outcome-allowed .tile-n { color: #1e7d36; }
.tile.outcome-blocked .tile-n, .tile.outcome-unauthorized .tile-n { color: var(--danger); }
.tile.outcome-rate_limited .tile-n { color: #9a6700; }
.tile.tile-zero .tile-n { color: var(--muted); }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 0 2rem; }
table.compact td, table.compact th { padding: .3rem .5rem; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
pre.policy { border: 1px solid var(--line); padding: .8rem; border-radius: 4px; overflow-x: auto; }
`;
