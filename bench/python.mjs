/**
 * Section "python" of bench/run.mjs: the Python SDK's own overhead, measured the way section "sdk"
 * measures the Node SDK's. A gateway (same policy as section 1) and the target (bench/target.mjs)
 * run here; bench/python_client.py runs under Debian's /usr/bin/python3 (BENCH_PYTHON overrides)
 * with requests, closed loop, one Session per thread, and prints its figures as JSON:
 *   a. hand-signed (GatewayClient.sign_relay + plain requests to /v1/relay) vs instrumented
 *      (requests.get(target) under auto_instrument(instrument_hosts=['127.0.0.1']));
 *   b. plain vs excluded (auto_instrument() installed, 127.0.0.1 not listed: direct).
 * Halves A-B-B-A per cell, concurrency BENCH_PYTHON_CONCURRENCY (default "1,8"), BENCH_SECONDS each.
 */
import { execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateCredential } from '../dist/src/config/credential.js';
import { newKeyId } from '../dist/src/gateway/ids.js';
import { startGateway } from '../dist/src/gateway/server.js';
import { parsePolicy } from '../dist/src/policy/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.BENCH_PYTHON || '/usr/bin/python3';
const GOALS = { instrumented: 0.9, excluded: 0.95 };

function target() {
  const child = fork(path.join(HERE, 'target.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = once(child, 'message').then(([message]) => message.port);
  return { child, ready };
}

/** Runs the section; returns the figures (or `{ skipped }` when Python or requests is missing). */
export async function pythonBench(tmpRoot, log, seconds) {
  const concurrency = (process.env.BENCH_PYTHON_CONCURRENCY || '1,8')
    .split(',')
    .map((c) => Math.floor(Number(c)));
  const t = target();
  let gateway;
  try {
    const port = await t.ready;
    gateway = await startGateway({
      host: '127.0.0.1',
      port: 0,
      dataDir: path.join(tmpRoot, 'python-gateway'),
      policy: parsePolicy(
        JSON.stringify({
          unsafeAllowRanges: ['127.0.0.0/8'],
          rateLimits: { perAgent: 1_000_000, perKey: 1_000_000, perIp: 1_000_000, preAuthPerIp: 1_000_000 },
        }),
        'bench policy',
      ),
      warn: () => {},
    });
    const credential = generateCredential(newKeyId());
    await gateway.store.createKey(credential.keyId, 'bench-python', credential.secret, Date.now());
    const config = {
      gatewayUrl: gateway.url,
      credential: credential.reveal(),
      targetUrl: `http://127.0.0.1:${port}/1k`,
      seconds,
      warmupSeconds: 0.5,
      concurrency,
    };
    log(`python: ${PYTHON} bench/python_client.py, concurrency ${concurrency.join(',')}`);
    let stdout;
    try {
      ({ stdout } = await promisify(execFile)(
        PYTHON,
        [path.join(HERE, 'python_client.py'), JSON.stringify(config)],
        {
          maxBuffer: 256 * 1024 * 1024,
        },
      ));
    } catch (error) {
      return {
        skipped: `${PYTHON} bench/python_client.py failed: ${error.stderr || error.message}`.slice(0, 500),
      };
    }
    return JSON.parse(stdout);
  } finally {
    await gateway?.close();
    t.child.send({ type: 'close' });
    await once(t.child, 'exit');
  }
}

const LABELS = { hand: 'hand-signed', instrumented: 'instrumented', plain: 'plain', excluded: 'excluded' };

/** Lines for the report (text or markdown, like the other sections). */
export function renderPython(results, fmt, markdown) {
  const out = [
    markdown
      ? '\n## 8. Python SDK overhead (requests, GET 1 KiB on 127.0.0.1)\n'
      : '\n== 8. Python SDK overhead',
  ];
  if (results.skipped) return [...out, `skipped: ${results.skipped}`];
  out.push(
    `python ${results.python}, requests ${results.requests}, sphyr-sdk ${results.sdk}; one closed-loop client process, one Session per thread; halves A-B-B-A.`,
  );
  const rows = results.cells.map((c) => {
    const a = c[c.baseline];
    const b = c[c.sdk];
    return [
      `${LABELS[c.sdk]} vs ${LABELS[c.baseline]}`,
      c.concurrency,
      fmt(a.rps, 0),
      fmt(b.rps, 0),
      fmt(c.ratio, 3),
      fmt(a.p50Ms, 2),
      fmt(b.p50Ms, 2),
      fmt(a.cpuUsPerRequest, 0),
      fmt(b.cpuUsPerRequest, 0),
      a.errors + b.errors,
      `≥ ${GOALS[c.sdk]}: ${c.ratio >= GOALS[c.sdk] ? 'met' : 'MISSED'}`,
    ];
  });
  const headers = [
    'pair',
    'conc',
    'A req/s',
    'B req/s',
    'B/A',
    'A p50 ms',
    'B p50 ms',
    'A CPU µs/req',
    'B CPU µs/req',
    'errors',
    'goal',
  ];
  if (markdown) {
    out.push('', `| ${headers.join(' | ')} |`, `|${headers.map(() => ' --- |').join('')}`);
    for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  } else {
    out.push(headers.join('  '));
    for (const r of rows) out.push(r.join('  '));
  }
  for (const c of results.cells) {
    for (const arm of [c.baseline, c.sdk]) {
      if (c[arm].errors) out.push(`errors in ${LABELS[arm]} c=${c.concurrency}: ${c[arm].firstError}`);
    }
  }
  return out;
}
