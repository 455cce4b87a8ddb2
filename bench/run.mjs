/**
 * Sphyr benchmark: `npm run bench` (= build, then `node bench/run.mjs`).
 *
 * Five measurements in one run, reported side by side as ratios; nothing here fails the process
 * on a slow number, the goals are only printed next to the results.
 *
 *  1. Relay overhead: a local target hit three ways, for GET 1 KiB, GET 1 MiB and POST 1 KiB upload,
 *     at concurrency 1 and 64:
 *       direct   the target itself;
 *       bare     through a bare proxy (bench/bare-proxy.mjs): the least a Node forwarder can do
 *                (node:http server, keep-alive http.Agent, pipe both ways), none of Sphyr's work;
 *       relayed  through the gateway (`/v1/relay`, signed).
 *     Per cell: requests/s and p50/p99 of each arm; relayed/direct and bare/direct (what forwarding
 *     costs in all), relayed/bare (what Sphyr's own work costs: authentication, screening, policy,
 *     logging), the latency the gateway adds over direct and, of that, over the bare proxy; and the
 *     gateway's and the bare proxy's CPU µs per request.
 *  2. Sign + verify cost per request (µs): signRequest alone, verifySignedRequest alone.
 *  3. Log throughput: append N records to a fresh SqliteStore, reopen it, and verify the chain
 *     holds all N ("nothing lost").
 *  4. SDK overhead (section "sdk"): the Node SDK's own cost, in one forked client (bench/sdk.mjs)
 *     so autoInstrument()'s global patch never touches this process. GET 1 KiB on the target, the
 *     body read to the end, at concurrency 1 and 16 (BENCH_SDK_CONCURRENCY):
 *       a. hand-signed vs instrumented, both through a gateway of their own started here (same
 *          policy as section 1): GatewayClient.relay() (signs, sends with the original fetch) vs
 *          a plain fetch(targetUrl) under autoInstrument({ instrumentHosts: ['127.0.0.1'] });
 *          instrumented/hand-signed is what the SDK's interception costs over signing by hand.
 *       b. plain vs excluded, direct to the target: fetch before autoInstrument() (or after its
 *          restore()) vs fetch with it installed but 127.0.0.1 not in instrumentHosts, so nothing is
 *          done; excluded/plain is the cost of being installed where the SDK does nothing.
 *     Per pair: warm-ups, then halves A-B-B-A (install before the B halves, restore() after);
 *     req/s, p50/p99 and the client's CPU µs per request of each arm, and the ratio B/A.
 *  5. MCP (section "mcp", bench/mcp.mjs): the sphyr-mcp stdio server driven by the MCP SDK's Client
 *     over StdioClientTransport, every server spawned as `node <file>` from the repo root, SPHYR_*
 *     pointing at a gateway started here (same policy as section 1) and HOME a temp dir:
 *       a. cold start, spawn → initialize response (the time client.connect() takes), median of
 *          BENCH_MCP_COLD_N, for `node bin/sphyr-mcp.js` (standalone) and a minimal MCP SDK server
 *          (bench/minimal-mcp-server.mjs: McpServer, one `echo` tool, StdioServerTransport),
 *          alternating, after one unrecorded spawn of each; plus each child's VmRSS (/proc) right
 *          after initialize. Goal: sphyr-mcp ≤ 1.3× the minimal server.
 *       b. wrap overhead, sequential `tools/call` echo {message:'x'} round trips to
 *          @modelcontextprotocol/server-everything (stdio) direct vs through
 *          `sphyr-mcp -- node …/server-everything/dist/index.js stdio` (every call reported to the
 *          gateway, counted in its log afterwards): BENCH_MCP_WARMUP calls per arm, then
 *          BENCH_MCP_CALLS per arm in halves A-B-B-A; p50/p99 of each, the ratio and the added ms.
 *
 * Process layout (chosen so gateway, target and client never share an event loop):
 *   - this process: orchestration, the gateway itself (startGateway, real sockets, SQLite log) and
 *     the bare proxy (bench/bare-proxy.mjs). While a load run is going it only waits for one IPC
 *     message and only the arm's server is being hit, so its CPU is the gateway's (relayed arm) or
 *     the bare proxy's (bare arm), measured the same way.
 *   - bench/target.mjs (forked): the node:http target.
 *   - sphyr-mcp, the minimal MCP server, server-everything (spawned, section 5 only; the wrapped
 *     server-everything is sphyr-mcp's own child): stdio JSON-RPC with this process as the client.
 *   - bench/sdk.mjs (forked, section 4 only): the SDK client, Node's fetch as an application uses
 *     it, closed loop like bench/load.mjs; it owns the instrumentation and restores it before exiting.
 *   - bench/load.mjs (forked): the closed-loop load generator: keep-alive HTTP/1.1 over raw sockets
 *     by default (BENCH_CLIENT=http switches to a node:http Agent as a cross-check). The bare arm
 *     gets the relay's shape of request (`/v1/relay` + `sphyr-target-uri`) unsigned. For the relay
 *     arm it signs every request (fresh nonce: the gateway refuses replays); signing is timed
 *     separately and reported as "client sign µs", it is not inside the latency numbers.
 * On 2 cores the direct arm has 2 busy processes (load, target) and the bare and relay arms 3 (load,
 * proxy or gateway, target), so at concurrency 64 they also pay for sharing the CPU; the bare arm
 * pays exactly that much too, so relayed/bare isolates Sphyr's own work. The per-process CPU table
 * shows where the time went (100% = one core busy; a load generator near 100% means the client,
 * not the server, is the limit).
 *
 * Fairness: per cell all three arms warm up first, then run A-B-C-C-B-A (direct, bare, relayed,
 * relayed, bare, direct), each half of BENCH_SECONDS, and the halves are merged. Every run stops at
 * its deadline or at BENCH_MAX_REQUESTS, whichever comes first. Everything listens on 127.0.0.1.
 *
 * Settings (environment):
 *   BENCH_SECONDS         seconds per arm per cell (default 3; 6 cells × 3 arms)
 *   BENCH_WARMUP_SECONDS  warm-up seconds per arm per cell (default 0.5)
 *   BENCH_MAX_REQUESTS    request cap per run (default 200000)
 *   BENCH_CONCURRENCY     comma list (default "1,64")
 *   BENCH_SIGN_N          sign/verify iterations (default 20000)
 *   BENCH_LOG_N           log records to append (default 50000)
 *   BENCH_SDK_CONCURRENCY comma list for section 4 (default "1,16")
 *   BENCH_MCP_COLD_N      cold starts per server in section 5 (default 10)
 *   BENCH_MCP_WARMUP      warm-up tool calls per arm in section 5 (default 50)
 *   BENCH_MCP_CALLS       recorded tool calls per arm in section 5 (default 500)
 *   BENCH_SECTIONS        comma list of relay,sign,log,sdk,mcp,guard,console,python (default all)
 *   BENCH_PYTHON_CONCURRENCY  comma list for section python (default "1,8"; bench/python.mjs)
 *   BENCH_CONSOLE_N       log records for section console (default 1000000)
 *   BENCH_CONSOLE_RUNS    timed runs per console page (default 30)
 *   BENCH_CONSOLE_SPAN_DAYS  days the console records are spread over (default 36; 1 = a busy day)
 *   BENCH_CLIENT          raw (default) or http: the load generator's transport
 *
 * Output: tables on stdout, and bench/results/latest.json + bench/results/latest.md.
 */
import { execFileSync, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { GatewayClient } from '../dist/src/client/gateway-client.js';
import { generateCredential } from '../dist/src/config/credential.js';
import { newKeyId, newRequestId } from '../dist/src/gateway/ids.js';
import { startGateway } from '../dist/src/gateway/server.js';
import { SqliteStore } from '../dist/src/gateway/store/sqlite-store.js';
import { parsePolicy } from '../dist/src/policy/index.js';
import {
  checkBodyDigest,
  contentDigest,
  MemoryNonceStore,
  signRequest,
  verifySignedRequest,
} from '../dist/src/signing/index.js';
import { startBareProxy } from './bare-proxy.mjs';
import { consoleBench, renderConsole } from './console.mjs';
import { guardBench, renderGuard } from './guard.mjs';
import { mcpBench } from './mcp.mjs';
import { pythonBench, renderPython } from './python.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RESULTS_DIR = path.join(HERE, 'results');

function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

const SETTINGS = {
  seconds: envNumber('BENCH_SECONDS', 3),
  warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 0.5),
  maxRequests: Math.floor(envNumber('BENCH_MAX_REQUESTS', 200_000)),
  concurrency: (process.env.BENCH_CONCURRENCY || '1,64').split(',').map((c) => Math.floor(Number(c))),
  signN: Math.floor(envNumber('BENCH_SIGN_N', 20_000)),
  logN: Math.floor(envNumber('BENCH_LOG_N', 50_000)),
  sdkConcurrency: (process.env.BENCH_SDK_CONCURRENCY || '1,16').split(',').map((c) => Math.floor(Number(c))),
  mcpColdN: Math.floor(envNumber('BENCH_MCP_COLD_N', 10)),
  mcpWarmup: Math.floor(envNumber('BENCH_MCP_WARMUP', 50)),
  mcpCalls: Math.floor(envNumber('BENCH_MCP_CALLS', 500)),
  sections: (process.env.BENCH_SECTIONS || 'relay,sign,log,sdk,mcp,guard,console,python')
    .split(',')
    .map((s) => s.trim()),
};
if (SETTINGS.concurrency.some((c) => !(c >= 1))) throw new Error('BENCH_CONCURRENCY must list integers ≥ 1');
if (SETTINGS.sdkConcurrency.some((c) => !(c >= 1)))
  throw new Error('BENCH_SDK_CONCURRENCY must list integers ≥ 1');
const UNKNOWN_SECTIONS = SETTINGS.sections.filter(
  (s) => !['relay', 'sign', 'log', 'sdk', 'mcp', 'guard', 'console', 'python'].includes(s),
);
if (UNKNOWN_SECTIONS.length)
  throw new Error(
    `BENCH_SECTIONS: unknown section(s) ${UNKNOWN_SECTIONS.join(', ')}; use relay,sign,log,sdk,mcp,guard,console,python`,
  );

const GOALS = {
  addedP50MsAtC1: 1,
  ratioAtC64: 0.5,
  /** Section 4a: instrumented/hand-signed req/s, "close to 1" (the SDK's own cost). */
  sdkInstrumentedRatio: 0.9,
  /** Section 4b: excluded/plain req/s, near-zero cost where nothing is done. */
  sdkExcludedRatio: 0.95,
  /** Section 5a: sphyr-mcp cold start (spawn → initialize) ≤ this × a minimal MCP SDK server. */
  mcpColdStartRatio: 1.3,
};

const POLICY = parsePolicy(
  JSON.stringify({
    unsafeAllowRanges: ['127.0.0.0/8'],
    rateLimits: { perAgent: 1_000_000, perKey: 1_000_000, perIp: 1_000_000, preAuthPerIp: 1_000_000 },
  }),
  'bench policy',
);

/** Load arms, in A-B-C order (see the Fairness note above). */
const ARMS = ['direct', 'bare', 'relay'];

const CASES = [
  { name: 'GET 1 KiB', method: 'GET', path: '/1k', bodyBytes: 0, expectBytes: 1024 },
  { name: 'GET 1 MiB', method: 'GET', path: '/1m', bodyBytes: 0, expectBytes: 1024 * 1024 },
  {
    name: 'POST 1 KiB up',
    method: 'POST',
    path: '/upload',
    bodyBytes: 1024,
    expectBytes: Buffer.byteLength(JSON.stringify({ received: 1024 })),
  },
];

// ---------------------------------------------------------------- helpers

/** Fork a bench child with structured-clone IPC and a tiny request/response helper. */
function forkChild(file) {
  const child = fork(path.join(HERE, file), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map();
  const waiting = new Map();
  let nextId = 1;
  child.on('message', (message) => {
    if (message.id !== undefined && pending.has(message.id)) {
      const { resolve, reject } = pending.get(message.id);
      pending.delete(message.id);
      if (message.type === 'error') reject(new Error(`${file}: ${message.message}`));
      else resolve(message);
    } else if (waiting.has(message.type)) {
      waiting.get(message.type).resolve(message);
      waiting.delete(message.type);
    }
  });
  const exited = once(child, 'exit');
  child.on('exit', (code, signal) => {
    const error = new Error(`${file} exited (${code ?? signal})`);
    for (const { reject } of [...pending.values(), ...waiting.values()]) reject(error);
    pending.clear();
    waiting.clear();
  });
  return {
    child,
    exited,
    call(message) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ ...message, id });
      });
    },
    waitFor(type) {
      if (child.exitCode !== null || child.signalCode !== null) {
        return Promise.reject(new Error(`${file} is not running`));
      }
      return new Promise((resolve, reject) => waiting.set(type, { resolve, reject }));
    },
    send(message) {
      if (child.connected) child.send(message);
    },
    /** Ask it to close; if it has not exited after `ms`, end it (it is our own child, by pid). */
    async stop(ms = 10_000) {
      this.send({ type: 'close' });
      const timer = setTimeout(() => child.kill(), ms);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Nearest-rank percentile of an ascending-sorted array. */
function percentile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function latencyStats(arrays) {
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const all = new Float64Array(total);
  let offset = 0;
  let sum = 0;
  for (const a of arrays) {
    all.set(a, offset);
    offset += a.length;
    for (let i = 0; i < a.length; i++) sum += a[i];
  }
  all.sort();
  return {
    meanMs: total ? sum / total : Number.NaN,
    p50Ms: percentile(all, 0.5),
    p90Ms: percentile(all, 0.9),
    p99Ms: percentile(all, 0.99),
    maxMs: total ? all[total - 1] : Number.NaN,
  };
}

const round = (value, digits = 3) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null);
const fmt = (value, digits = 2) => (value === null || !Number.isFinite(value) ? '—' : value.toFixed(digits));
const fmtInt = (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—');

function textTable(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])));
  return [
    line(headers).join('  '),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map((r) => line(r).join('  ')),
  ].join('\n');
}

function markdownTable(headers, rows) {
  const esc = (c) => String(c).replaceAll('|', '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${headers.map((h, i) => (i === 0 || h === 'goal' ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: HERE, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

function log(message) {
  process.stderr.write(`${message}\n`);
}

/** CPU time (ms) all cores of the machine spent busy so far, from os.cpus() (10 ms resolution). */
function machineBusyMs() {
  let busy = 0;
  for (const { times } of os.cpus()) busy += times.user + times.nice + times.sys + times.irq;
  return busy;
}

/** How busy the machine is before we start (% of all cores), so a noisy run is visible as such. */
async function sampleMachineLoad(ms) {
  const b0 = machineBusyMs();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return round((100 * (machineBusyMs() - b0)) / ((performance.now() - t0) * os.cpus().length), 0);
}

// ---------------------------------------------------------------- 1. relay overhead

async function relayBench(tmpRoot) {
  const warnings = [];
  const target = forkChild('target.mjs');
  let gateway;
  let bareProxy;
  let load;
  let relayedSent = 0;
  try {
    const { port: targetPort } = await target.waitFor('ready');
    bareProxy = await startBareProxy();
    gateway = await startGateway({
      host: '127.0.0.1',
      port: 0,
      dataDir: path.join(tmpRoot, 'gateway'),
      policy: POLICY,
      warn: (message) => warnings.push(message),
    });
    load = forkChild('load.mjs');
    const credential = generateCredential(newKeyId());
    await gateway.store.createKey(credential.keyId, 'bench', credential.secret, Date.now());
    const client = new GatewayClient({ gatewayUrl: gateway.url, credential, agent: { name: 'bench' } });
    const agentId = await client.agentId();
    const ready = load.waitFor('ready');
    load.send({
      type: 'init',
      gatewayPort: gateway.port,
      bareProxyPort: bareProxy.port,
      targetPort,
      keyId: credential.keyId,
      secret: Buffer.from(credential.secret),
      agentId,
    });
    const { client: loadClient } = await ready;

    const runArm = async (spec, arm, seconds, record) => {
      const t0 = (await target.call({ type: 'cpu' })).usage;
      // This process runs both the gateway and the bare proxy; only the arm's server is being hit.
      const gw0 = process.cpuUsage();
      const machine0 = machineBusyMs();
      const result = await load.call({
        type: 'run',
        arm,
        method: spec.method,
        path: spec.path,
        bodyBytes: spec.bodyBytes,
        expectBytes: spec.expectBytes,
        concurrency: spec.concurrency,
        durationMs: seconds * 1000,
        maxRequests: SETTINGS.maxRequests,
        record,
      });
      const machineMs = machineBusyMs() - machine0;
      const gw = process.cpuUsage(gw0);
      const t1 = (await target.call({ type: 'cpu' })).usage;
      if (arm === 'relay') relayedSent += result.ok + result.errors;
      const mainCpuMs = (gw.user + gw.system) / 1000;
      const targetCpuMs = (t1.user - t0.user + t1.system - t0.system) / 1000;
      // Whatever else ran on the machine meanwhile (other processes, the kernel's own threads).
      const otherCpuMs = Math.max(0, machineMs - result.cpuMs - targetCpuMs - mainCpuMs);
      return { ...result, mainCpuMs, targetCpuMs, otherCpuMs };
    };

    const summarize = (runs, arm) => {
      const elapsedMs = runs.reduce((n, r) => n + r.elapsedMs, 0);
      const ok = runs.reduce((n, r) => n + r.ok, 0);
      const sum = (key) => runs.reduce((n, r) => n + r[key], 0);
      const pct = (key) => round((100 * sum(key)) / elapsedMs, 0);
      const sent = ok + sum('errors');
      const perRequestUs = (key) => round((1000 * sum(key)) / (sent || 1), 0);
      const stats = latencyStats(runs.map((r) => r.latencies));
      const out = {
        requests: ok,
        errors: runs.reduce((n, r) => n + r.errors, 0),
        firstError: runs.find((r) => r.firstError)?.firstError ?? null,
        capped: runs.some((r) => r.capped),
        seconds: round(elapsedMs / 1000, 2),
        rps: round((ok * 1000) / elapsedMs, 1),
        meanMs: round(stats.meanMs),
        p50Ms: round(stats.p50Ms),
        p90Ms: round(stats.p90Ms),
        p99Ms: round(stats.p99Ms),
        maxMs: round(stats.maxMs),
        cpuPercent: { load: pct('cpuMs'), target: pct('targetCpuMs'), other: pct('otherCpuMs') },
        cpuUsPerRequest: { load: perRequestUs('cpuMs'), target: perRequestUs('targetCpuMs') },
      };
      // The main process's CPU is the server under test: the gateway or the bare proxy.
      const server = { relay: 'gateway', bare: 'bareProxy' }[arm];
      if (server) {
        out.cpuPercent[server] = pct('mainCpuMs');
        out.cpuUsPerRequest[server] = perRequestUs('mainCpuMs');
      }
      if (arm === 'relay') {
        out.clientSignUs = round(runs.reduce((n, r) => n + r.signUs * (r.ok + r.errors), 0) / (sent || 1), 1);
      }
      return out;
    };

    // One global warm-up so the JIT has seen every path before the first cell.
    log('relay: global warm-up');
    for (const c of CASES) {
      for (const arm of ARMS) {
        await runArm({ ...c, concurrency: Math.max(...SETTINGS.concurrency) }, arm, 0.5, false);
      }
    }

    const cells = [];
    for (const c of CASES) {
      for (const concurrency of SETTINGS.concurrency) {
        const spec = { ...c, concurrency };
        log(`relay: ${c.name} c=${concurrency}`);
        for (const arm of ARMS) await runArm(spec, arm, SETTINGS.warmupSeconds, false);
        // A-B-C-C-B-A: each arm gets one early and one late half, so drift hits all alike.
        const half = SETTINGS.seconds / 2;
        const runs = Object.fromEntries(ARMS.map((arm) => [arm, []]));
        for (const arm of [...ARMS, ...[...ARMS].reverse()])
          runs[arm].push(await runArm(spec, arm, half, true));
        const d = summarize(runs.direct, 'direct');
        const b = summarize(runs.bare, 'bare');
        const r = summarize(runs.relay, 'relay');
        const cell = {
          case: c.name,
          method: c.method,
          requestBytes: c.bodyBytes,
          responseBytes: c.expectBytes,
          concurrency,
          direct: d,
          bare: b,
          relayed: r,
          // relayed/direct (the goal's ratio, kept under its old name).
          ratio: round(r.rps / d.rps),
          bareRatio: round(b.rps / d.rps),
          relayedOverBare: round(r.rps / b.rps),
          addedP50Ms: round(r.p50Ms - d.p50Ms),
          addedP99Ms: round(r.p99Ms - d.p99Ms),
          // Of the added latency, the part a bare forwarder does not pay: Sphyr's own work.
          sphyrP50Ms: round(r.p50Ms - b.p50Ms),
          sphyrP99Ms: round(r.p99Ms - b.p99Ms),
          gatewayOverBareCpu: round(r.cpuUsPerRequest.gateway / b.cpuUsPerRequest.bareProxy, 1),
        };
        if (concurrency === 1) {
          cell.goal = `added p50 ≤ ${GOALS.addedP50MsAtC1} ms`;
          cell.goalMet = cell.addedP50Ms <= GOALS.addedP50MsAtC1;
        } else if (concurrency === 64) {
          cell.goal = `relayed ≥ ${GOALS.ratioAtC64}× direct`;
          cell.goalMet = cell.ratio >= GOALS.ratioAtC64;
        }
        cells.push(cell);
      }
    }
    return { loadClient, targetPort, cells, relayedSent, warnings };
  } finally {
    await Promise.all([load?.stop(), target.stop()]);
    await Promise.all([gateway?.close(), bareProxy?.close()]);
  }
}

/** After the load runs: every relayed request the gateway answered must have its chained record. */
async function checkGatewayLog(tmpRoot, relayedSent) {
  const store = await SqliteStore.open(path.join(tmpRoot, 'gateway'));
  try {
    const t0 = performance.now();
    const result = await store.verify();
    return {
      relayedRequests: relayedSent,
      records: result.checked,
      chainOk: result.ok,
      problem: result.problem ?? null,
      verifyMs: round(performance.now() - t0, 1),
      complete: result.ok && result.checked === relayedSent,
    };
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------- 2. sign + verify

async function signBench() {
  const n = SETTINGS.signN;
  const credential = generateCredential(newKeyId());
  const key = credential.secret;
  const body = Buffer.alloc(1024, 'x');
  const digest = contentDigest(body);
  const facts = {
    method: 'POST',
    authority: '127.0.0.1:7470',
    path: '/v1/relay',
    query: '?',
    targetUri: 'https://api.example.com/v1/chat/completions',
    contentDigest: digest,
    agentId: 'agt_AAAAAAAAAAAAAAAAAAAAAA',
  };
  const sign = () =>
    signRequest({
      kind: 'relay',
      facts,
      keyId: credential.keyId,
      key,
      nowSeconds: Math.floor(Date.now() / 1000),
    });
  const nonceStore = new MemoryNonceStore();
  // The body's own hash as the gateway's spool computes it while reading (timed separately above).
  const bodySha256 = createHash('sha256').update(body).digest();
  const verify = async (signed) =>
    checkBodyDigest(
      await verifySignedRequest({
        kind: 'relay',
        facts,
        signatureInput: signed.signatureInput,
        signature: signed.signature,
        nowSeconds: Math.floor(Date.now() / 1000),
        lookupKey: async () => key,
        nonceStore,
      }),
      bodySha256,
    );

  // Warm-up (JIT) on both paths.
  for (let i = 0; i < 2000; i++) await verify(sign());

  let t0 = performance.now();
  for (let i = 0; i < n; i++) contentDigest(body);
  const digestUs = ((performance.now() - t0) * 1000) / n;

  t0 = performance.now();
  const signed = new Array(n);
  for (let i = 0; i < n; i++) signed[i] = sign();
  const signUs = ((performance.now() - t0) * 1000) / n;

  t0 = performance.now();
  for (let i = 0; i < n; i++) await verify(signed[i]);
  const verifyUs = ((performance.now() - t0) * 1000) / n;

  // Every one was fresh, so a replay of the first must now be refused.
  const replayRefused = await verify(signed[0]).then(
    () => false,
    (error) => error.code === 'replay',
  );
  return {
    n,
    contentDigest1KiBUs: round(digestUs, 2),
    signUs: round(signUs, 2),
    verifyUs: round(verifyUs, 2),
    signPerSecond: round(1e6 / signUs, 0),
    verifyPerSecond: round(1e6 / verifyUs, 0),
    replayRefused,
  };
}

// ---------------------------------------------------------------- 3. log throughput

async function logBench(tmpRoot) {
  const n = SETTINGS.logN;
  const dir = path.join(tmpRoot, 'log');
  let store = await SqliteStore.open(dir);
  const now = Date.now();
  const urlHash = store.hashUrl('https://api.example.com/v1/chat/completions');
  const signature = `sig=:${Buffer.alloc(32, 7).toString('base64')}:`;
  // Shaped like a finished relay draft (src/gateway/log-draft.ts); built before timing.
  const records = Array.from({ length: n }, (_, i) => ({
    id: newRequestId(now + i),
    ts: now + i,
    kind: 'relay',
    keyId: 'key_benchbenchbench',
    agentId: 'agt_AAAAAAAAAAAAAAAAAAAAAA',
    clientIp: '127.0.0.1',
    method: 'POST',
    urlHash,
    host: 'api.example.com',
    url: null,
    entropy: 3.91,
    outcome: 'allowed',
    reason: 'allowed',
    status: 200,
    bytesIn: 1024,
    bytesOut: 2048,
    durationMs: 0.734,
    signature,
    tool: null,
    argsDigest: null,
  }));
  // First half one at a time (each append waits for its own commit); second half with 64 appends
  // in flight, as a busy gateway has them, so the group commit batches them.
  const half = Math.floor(n / 2);
  const t0 = performance.now();
  for (let i = 0; i < half; i += 1) await store.append(records[i]);
  const appendMs = performance.now() - t0;
  const tb = performance.now();
  let next = half;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) await store.append(records[next++]);
    }),
  );
  const batchMs = performance.now() - tb;
  await store.close();

  // Reopen from disk so "nothing lost" is about what was committed, not what is in memory.
  store = await SqliteStore.open(dir);
  try {
    const t1 = performance.now();
    const result = await store.verify();
    const verifyMs = performance.now() - t1;
    const [newest] = await store.query({ limit: 1 });
    let dbBytes = 0;
    for (const file of ['sphyr.db', 'sphyr.db-wal']) {
      dbBytes += await stat(path.join(dir, file)).then(
        (s) => s.size,
        () => 0,
      );
    }
    return {
      n,
      sequentialN: half,
      appendMs: round(appendMs, 1),
      recordsPerSecond: round((half * 1000) / appendMs, 0),
      appendUs: round((appendMs * 1000) / half, 2),
      batchedN: n - half,
      batchMs: round(batchMs, 1),
      batchRecordsPerSecond: round(((n - half) * 1000) / batchMs, 0),
      batchUs: round((batchMs * 1000) / (n - half), 2),
      verifyMs: round(verifyMs, 1),
      verifyRecordsPerSecond: round((result.checked * 1000) / verifyMs, 0),
      checked: result.checked,
      chainOk: result.ok,
      newestSeq: newest?.seq ?? null,
      nothingLost: result.ok && result.checked === n && newest?.seq === n,
      dbBytes,
    };
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------- 4. SDK overhead

/** Section 4's pairs: baseline arm A and the SDK arm B, run A-B-B-A in bench/sdk.mjs. */
const SDK_PAIRS = [
  {
    key: 'instrumented',
    baseline: 'hand',
    sdk: 'instrumented',
    goalRatio: () => GOALS.sdkInstrumentedRatio,
    goalText: () => `instrumented ≥ ${GOALS.sdkInstrumentedRatio}× hand-signed`,
  },
  {
    key: 'excluded',
    baseline: 'plain',
    sdk: 'excluded',
    goalRatio: () => GOALS.sdkExcludedRatio,
    goalText: () => `excluded ≥ ${GOALS.sdkExcludedRatio}× plain`,
  },
];

async function sdkBench(tmpRoot) {
  const warnings = [];
  const target = forkChild('target.mjs');
  let gateway;
  let sdk;
  try {
    const { port: targetPort } = await target.waitFor('ready');
    gateway = await startGateway({
      host: '127.0.0.1',
      port: 0,
      dataDir: path.join(tmpRoot, 'sdk-gateway'),
      policy: POLICY,
      warn: (message) => warnings.push(message),
    });
    const credential = generateCredential(newKeyId());
    await gateway.store.createKey(credential.keyId, 'bench-sdk', credential.secret, Date.now());
    sdk = forkChild('sdk.mjs');
    const ready = sdk.waitFor('ready');
    sdk.send({
      type: 'init',
      gatewayUrl: gateway.url,
      // The text form crosses IPC; the child parses it as an application would.
      credential: credential.reveal(),
      targetUrl: `http://127.0.0.1:${targetPort}/1k`,
    });
    const readyMessage = await ready;
    if (readyMessage.error) throw new Error(`bench/sdk.mjs could not register: ${readyMessage.error}`);

    const runArm = async (arm, concurrency, seconds, record) => {
      const t0 = (await target.call({ type: 'cpu' })).usage;
      const gw0 = process.cpuUsage();
      const machine0 = machineBusyMs();
      const result = await sdk.call({
        type: 'run',
        arm,
        concurrency,
        durationMs: seconds * 1000,
        maxRequests: SETTINGS.maxRequests,
        record,
      });
      const machineMs = machineBusyMs() - machine0;
      const gw = process.cpuUsage(gw0);
      const t1 = (await target.call({ type: 'cpu' })).usage;
      warnings.push(...result.warnings);
      const gatewayCpuMs = (gw.user + gw.system) / 1000;
      const targetCpuMs = (t1.user - t0.user + t1.system - t0.system) / 1000;
      const otherCpuMs = Math.max(0, machineMs - result.cpuMs - targetCpuMs - gatewayCpuMs);
      return { ...result, gatewayCpuMs, targetCpuMs, otherCpuMs };
    };

    const summarize = (runs) => {
      const elapsedMs = runs.reduce((n, r) => n + r.elapsedMs, 0);
      const sum = (key) => runs.reduce((n, r) => n + r[key], 0);
      const ok = sum('ok');
      const sent = ok + sum('errors');
      const pct = (key) => round((100 * sum(key)) / elapsedMs, 0);
      const perRequestUs = (key) => round((1000 * sum(key)) / (sent || 1), 0);
      const stats = latencyStats(runs.map((r) => r.latencies));
      return {
        requests: ok,
        // Each half's own rate, in the order run: how far apart they are shows the run's noise.
        // Lists as strings, like meta.settings, for the layout `biome check` expects.
        halvesRps: runs.map((r) => round((r.ok * 1000) / r.elapsedMs, 0)).join(','),
        errors: sum('errors'),
        firstError: runs.find((r) => r.firstError)?.firstError ?? null,
        capped: runs.some((r) => r.capped),
        seconds: round(elapsedMs / 1000, 2),
        rps: round((ok * 1000) / elapsedMs, 1),
        meanMs: round(stats.meanMs),
        p50Ms: round(stats.p50Ms),
        p90Ms: round(stats.p90Ms),
        p99Ms: round(stats.p99Ms),
        maxMs: round(stats.maxMs),
        cpuPercent: {
          client: pct('cpuMs'),
          gateway: pct('gatewayCpuMs'),
          target: pct('targetCpuMs'),
          other: pct('otherCpuMs'),
        },
        cpuUsPerRequest: {
          client: perRequestUs('cpuMs'),
          gateway: perRequestUs('gatewayCpuMs'),
          target: perRequestUs('targetCpuMs'),
        },
      };
    };

    // A global warm-up until each arm's rate stops climbing: fetch (undici), the signing path and
    // the gateway take thousands of requests to reach their steady speed (a cold first cell measured
    // about half its warm req/s), far more than a fixed 0.5 s gives them. Per arm, at the highest
    // concurrency, 0.5 s chunks: at least 3 chunks and 4,000 requests, then until two chunks in a row
    // are no more than 5% faster than the best before them; at most 14 chunks (7 s).
    log('sdk: global warm-up');
    const warmup = {};
    const maxConcurrency = Math.max(...SETTINGS.sdkConcurrency);
    for (const pair of SDK_PAIRS) {
      for (const arm of [pair.baseline, pair.sdk]) {
        const rates = [];
        let requests = 0;
        let flat = 0;
        for (let chunk = 0; chunk < 14; chunk++) {
          const r = await runArm(arm, maxConcurrency, 0.5, false);
          const rps = round((r.ok * 1000) / r.elapsedMs, 0);
          flat = rates.length && rps <= Math.max(...rates) * 1.05 ? flat + 1 : 0;
          rates.push(rps);
          requests += r.ok;
          if (rates.length >= 3 && requests >= 4000 && flat >= 2) break;
        }
        warmup[arm] = rates.join(',');
      }
    }

    const cells = [];
    for (const pair of SDK_PAIRS) {
      for (const concurrency of SETTINGS.sdkConcurrency) {
        log(`sdk: ${pair.sdk} vs ${pair.baseline} c=${concurrency}`);
        for (const arm of [pair.baseline, pair.sdk])
          await runArm(arm, concurrency, SETTINGS.warmupSeconds, false);
        // A-B-B-A: the SDK is installed before the B halves and restore()d after them.
        const half = SETTINGS.seconds / 2;
        const runs = { [pair.baseline]: [], [pair.sdk]: [] };
        for (const arm of [pair.baseline, pair.sdk, pair.sdk, pair.baseline])
          runs[arm].push(await runArm(arm, concurrency, half, true));
        const a = summarize(runs[pair.baseline]);
        const b = summarize(runs[pair.sdk]);
        const [a1, a2] = a.halvesRps.split(',');
        const [b1, b2] = b.halvesRps.split(',');
        const ratio = round(b.rps / a.rps);
        cells.push({
          pair: pair.key,
          concurrency,
          baseline: pair.baseline,
          sdk: pair.sdk,
          [pair.baseline]: a,
          [pair.sdk]: b,
          ratio,
          addedP50Ms: round(b.p50Ms - a.p50Ms),
          addedP99Ms: round(b.p99Ms - a.p99Ms),
          addedClientCpuUs: round(b.cpuUsPerRequest.client - a.cpuUsPerRequest.client, 0),
          halvesRps: [a1, b1, b2, a2].join(','),
          goal: pair.goalText(),
          goalMet: ratio >= pair.goalRatio(),
        });
      }
    }
    return { targetPath: '/1k', responseBytes: 1024, warmupRps: warmup, cells, warnings };
  } finally {
    await Promise.all([sdk?.stop(), target.stop()]);
    await gateway?.close();
  }
}

// ---------------------------------------------------------------- 5. MCP

async function mcpSection(tmpRoot) {
  const warnings = [];
  const home = path.join(tmpRoot, 'mcp-home');
  await mkdir(home, { recursive: true });
  const gateway = await startGateway({
    host: '127.0.0.1',
    port: 0,
    dataDir: path.join(tmpRoot, 'mcp-gateway'),
    policy: POLICY,
    warn: (message) => warnings.push(message),
  });
  try {
    const credential = generateCredential(newKeyId());
    await gateway.store.createKey(credential.keyId, 'bench-mcp', credential.secret, Date.now());
    const r = await mcpBench({
      gateway,
      credential: credential.reveal(),
      home,
      coldN: SETTINGS.mcpColdN,
      warmup: SETTINGS.mcpWarmup,
      calls: SETTINGS.mcpCalls,
      log,
    });
    const cold = (c) => ({
      n: c.n,
      medianMs: round(c.medianMs, 1),
      minMs: round(c.minMs, 1),
      maxMs: round(c.maxMs, 1),
      rssMiB: round(c.rssMiB, 1),
    });
    const arm = (a) => ({
      calls: a.calls,
      errors: a.errors,
      firstError: a.firstError,
      p50Ms: round(a.p50Ms),
      p99Ms: round(a.p99Ms),
      meanMs: round(a.meanMs),
      mainCpuUsPerCall: round(a.mainCpuUsPerCall, 0),
    });
    const coldRatio = round(r.cold.ratio, 2);
    return {
      coldStart: {
        sphyrMcp: cold(r.cold.sphyr),
        minimal: cold(r.cold.minimal),
        ratio: coldRatio,
        goal: `sphyr-mcp ≤ ${GOALS.mcpColdStartRatio}× minimal`,
        goalMet: coldRatio <= GOALS.mcpColdStartRatio,
      },
      wrap: {
        warmup: r.wrap.warmup,
        direct: arm(r.wrap.direct),
        wrapped: arm(r.wrap.wrapped),
        p50Ratio: round(r.wrap.p50Ratio, 2),
        p99Ratio: round(r.wrap.p99Ratio, 2),
        addedP50Ms: round(r.wrap.addedP50Ms),
        addedP99Ms: round(r.wrap.addedP99Ms),
        toolCallsSent: r.wrap.toolCallsSent,
        toolCallsLogged: r.wrap.toolCallsLogged,
      },
      warnings,
    };
  } finally {
    await gateway.close();
  }
}

// ---------------------------------------------------------------- report

/** A cell's per-arm results, by key. */
const CELL_ARMS = ['direct', 'bare', 'relayed'];
const cellErrors = (c) => CELL_ARMS.reduce((n, key) => n + c[key].errors, 0);

/** Throughput, the three ratios, server CPU per request and the goal: the table to read first. */
function relayRows(cells) {
  return cells.map((c) => [
    c.case,
    c.concurrency,
    fmtInt(c.direct.rps),
    fmtInt(c.bare.rps),
    fmtInt(c.relayed.rps),
    fmt(c.ratio, 2),
    fmt(c.bareRatio, 2),
    fmt(c.relayedOverBare, 2),
    fmtInt(c.bare.cpuUsPerRequest.bareProxy),
    fmtInt(c.relayed.cpuUsPerRequest.gateway),
    `${fmt(c.gatewayOverBareCpu, 1)}×`,
    cellErrors(c),
    c.goal ? `${c.goal}: ${c.goalMet ? 'met' : 'MISSED'}` : '',
  ]);
}
const RELAY_HEADERS = [
  'case',
  'conc',
  'direct req/s',
  'bare req/s',
  'relayed req/s',
  'relayed/direct',
  'bare/direct',
  'relayed/bare',
  'bare CPU µs/req',
  'gateway CPU µs/req',
  'gateway/bare CPU',
  'errors',
  'goal',
];

function latencyRows(cells) {
  return cells.map((c) => [
    c.case,
    c.concurrency,
    fmt(c.direct.p50Ms, 3),
    fmt(c.bare.p50Ms, 3),
    fmt(c.relayed.p50Ms, 3),
    fmt(c.addedP50Ms, 3),
    fmt(c.sphyrP50Ms, 3),
    fmt(c.direct.p99Ms, 3),
    fmt(c.bare.p99Ms, 3),
    fmt(c.relayed.p99Ms, 3),
    fmt(c.addedP99Ms, 3),
    fmt(c.sphyrP99Ms, 3),
  ]);
}
const LATENCY_HEADERS = [
  'case',
  'conc',
  'direct p50 ms',
  'bare p50 ms',
  'relayed p50 ms',
  'added p50 ms',
  'Sphyr p50 ms',
  'direct p99 ms',
  'bare p99 ms',
  'relayed p99 ms',
  'added p99 ms',
  'Sphyr p99 ms',
];

function cpuRows(cells) {
  return cells.map((c) => [
    c.case,
    c.concurrency,
    `${c.direct.cpuPercent.load}%`,
    `${c.direct.cpuPercent.target}%`,
    `${c.bare.cpuPercent.load}%`,
    `${c.bare.cpuPercent.bareProxy}%`,
    `${c.bare.cpuPercent.target}%`,
    `${c.relayed.cpuPercent.load}%`,
    `${c.relayed.cpuPercent.gateway}%`,
    `${c.relayed.cpuPercent.target}%`,
    fmtInt(c.direct.cpuUsPerRequest.target),
    fmt(c.relayed.clientSignUs, 1),
    `${Math.max(...CELL_ARMS.map((key) => c[key].cpuPercent.other))}%`,
  ]);
}
const CPU_HEADERS = [
  'case',
  'conc',
  'direct: load',
  'direct: target',
  'bare: load',
  'bare: proxy',
  'bare: target',
  'relayed: load',
  'relayed: gateway',
  'relayed: target',
  'target CPU µs/req',
  'client sign µs/req',
  'other CPU',
];

/** One line: relayed/bare per cell, the cost of Sphyr's own work against the cheapest forwarder. */
function relayedOverBareLine(cells) {
  const byCase = new Map();
  for (const c of cells) {
    if (!byCase.has(c.case)) byCase.set(c.case, []);
    byCase.get(c.case).push(`c${c.concurrency} ${fmt(c.relayedOverBare, 2)}`);
  }
  const parts = [...byCase].map(([name, values]) => `${name} ${values.join(', ')}`);
  return `Relayed/bare (1.00 = Sphyr's own work is free; no goal, stated against the bare proxy): ${parts.join('; ')}.`;
}

function signRows(s) {
  return [
    ['contentDigest (1 KiB body)', fmt(s.contentDigest1KiBUs, 2), fmtInt(1e6 / s.contentDigest1KiBUs)],
    ['signRequest', fmt(s.signUs, 2), fmtInt(s.signPerSecond)],
    ['verifySignedRequest (+ nonce store)', fmt(s.verifyUs, 2), fmtInt(s.verifyPerSecond)],
    ['sign + verify', fmt(s.signUs + s.verifyUs, 2), fmtInt(1e6 / (s.signUs + s.verifyUs))],
  ];
}

function logRows(l) {
  return [
    [
      'append, one at a time',
      fmtInt(l.sequentialN),
      fmt(l.appendMs / 1000, 2),
      fmtInt(l.recordsPerSecond),
      fmt(l.appendUs, 1),
    ],
    [
      'append, 64 in flight',
      fmtInt(l.batchedN),
      fmt(l.batchMs / 1000, 2),
      fmtInt(l.batchRecordsPerSecond),
      fmt(l.batchUs, 1),
    ],
    [
      'verify after reopen',
      fmtInt(l.checked),
      fmt(l.verifyMs / 1000, 2),
      fmtInt(l.verifyRecordsPerSecond),
      fmt((l.verifyMs * 1000) / (l.checked || 1), 1),
    ],
  ];
}

const SDK_ARM_LABELS = {
  hand: 'hand-signed',
  instrumented: 'instrumented',
  plain: 'plain',
  excluded: 'excluded',
};

/** Section 4, one table per pair: both arms side by side, the ratio B/A and the goal. */
function sdkRows(cells) {
  return cells.map((c) => {
    const a = c[c.baseline];
    const b = c[c.sdk];
    return [
      c.concurrency,
      fmtInt(a.rps),
      fmtInt(b.rps),
      fmt(c.ratio, 3),
      fmt(a.p50Ms, 3),
      fmt(b.p50Ms, 3),
      fmt(c.addedP50Ms, 3),
      fmt(a.p99Ms, 3),
      fmt(b.p99Ms, 3),
      fmtInt(a.cpuUsPerRequest.client),
      fmtInt(b.cpuUsPerRequest.client),
      `${Math.max(a.cpuPercent.other, b.cpuPercent.other)}%`,
      a.errors + b.errors,
      `${c.goal}: ${c.goalMet ? 'met' : 'MISSED'}`,
    ];
  });
}
function sdkHeaders(baseline, sdk) {
  const [a, b] = [SDK_ARM_LABELS[baseline], SDK_ARM_LABELS[sdk]];
  return [
    'conc',
    `${a} req/s`,
    `${b} req/s`,
    `${b}/${a}`,
    `${a} p50 ms`,
    `${b} p50 ms`,
    'added p50 ms',
    `${a} p99 ms`,
    `${b} p99 ms`,
    `${a} client CPU µs/req`,
    `${b} client CPU µs/req`,
    'other CPU',
    'errors',
    'goal',
  ];
}

/** One line per pair: the ratio at every concurrency, and the client CPU per request it adds. */
function sdkRatioLine(cells, key, label) {
  const parts = cells
    .filter((c) => c.pair === key)
    .map((c) => {
      const cpu = `${c.addedClientCpuUs >= 0 ? '+' : ''}${fmtInt(c.addedClientCpuUs)} client CPU µs/req`;
      return `c${c.concurrency} ${fmt(c.ratio, 3)} (${cpu})`;
    });
  return `${label}: ${parts.join(', ')}.`;
}

/** How each arm's rate climbed in the global warm-up: first and last 0.5 s chunk, and how many. */
function sdkWarmupLine(k) {
  const peak = Math.max(...k.cells.map((c) => c.concurrency));
  const arms = Object.entries(k.warmupRps).map(([arm, text]) => {
    const rates = text.split(',').map(Number);
    return `${SDK_ARM_LABELS[arm]} ${fmtInt(rates[0])} → ${fmtInt(rates.at(-1))} req/s (${rates.length})`;
  });
  return `Warm-up before the cells (0.5 s chunks at c${peak} until the rate stops climbing): ${arms.join(', ')}.`;
}

function render(results, markdown) {
  const table = markdown ? markdownTable : textTable;
  const out = [];
  const h = (title) => out.push(markdown ? `\n## ${title}\n` : `\n== ${title}\n`);
  const m = results.meta;
  const bullet = markdown ? '- ' : '';
  out.push(
    markdown ? '# Sphyr benchmark\n' : '# Sphyr benchmark',
    `${bullet}${m.date} · commit ${m.commit ?? '?'} · node ${m.node} · ${m.cpus}× ${m.cpuModel} · ${m.platform}`,
    `${bullet}settings: ${m.settings.seconds} s per arm per cell (A-B-C-C-B-A halves: direct, bare, relayed), warm-up ${m.settings.warmupSeconds} s, cap ${m.settings.maxRequests} requests per run`,
    `${bullet}machine busy before start: ${m.machineBusyBeforePercent}% of all cores${m.machineBusyBeforePercent > 15 ? ' (NOISY: something else is running)' : ''}`,
    `${bullet}layout: ${m.layout}`,
  );
  if (results.relay) {
    const r = results.relay;
    h(`1. Relay overhead (direct vs bare proxy vs /v1/relay on 127.0.0.1, ${r.loadClient} client)`);
    out.push(
      markdown
        ? "direct = the target itself; bare = a bare node:http forwarder (keep-alive Agent, pipe both ways) in the gateway's process; relayed = the gateway. CPU µs/req = the main process (bare proxy or gateway) per request.\n"
        : "direct = the target; bare = bare node:http forwarder in the gateway's process; relayed = the gateway. CPU µs/req = main process per request.",
    );
    out.push(table(RELAY_HEADERS, relayRows(r.cells)));
    out.push(
      '',
      `Goals: added p50 ≤ ${GOALS.addedP50MsAtC1} ms at concurrency 1; relayed throughput ≥ ${GOALS.ratioAtC64}× direct at concurrency 64.`,
      relayedOverBareLine(r.cells),
      '',
    );
    out.push(
      markdown
        ? '### Latency\n\nRequest start to last response byte, client signing excluded. added = relayed − direct; Sphyr = relayed − bare, the part of it a bare forwarder does not pay.\n'
        : 'Latency (request start to last response byte, client signing excluded; added = relayed − direct, Sphyr = relayed − bare):',
    );
    out.push(table(LATENCY_HEADERS, latencyRows(r.cells)), '');
    out.push(
      markdown
        ? '### CPU per process\n\n% of one core over the run; "other" = the rest of the machine (worst arm), a noisy run shows here.\n'
        : 'CPU per process (% of one core over the run; "other" = the rest of the machine, worst arm):',
    );
    out.push(table(CPU_HEADERS, cpuRows(r.cells)));
    const g = r.gatewayLog;
    out.push(
      '',
      `Gateway log after the load: ${fmtInt(g.records)} records for ${fmtInt(g.relayedRequests)} relayed requests, chain ${g.chainOk ? 'ok' : `BROKEN (${g.problem})`}, verify ${fmt(g.verifyMs / 1000, 2)} s → ${g.complete ? 'nothing lost' : 'MISMATCH'}.`,
    );
    for (const c of r.cells) {
      for (const key of CELL_ARMS) {
        if (c[key].errors)
          out.push(`errors in ${c.case} c=${c.concurrency} (${key}, ${c[key].errors}): ${c[key].firstError}`);
      }
    }
    const capped = r.cells.filter((c) => CELL_ARMS.some((key) => c[key].capped));
    if (capped.length)
      out.push(
        `note: request cap reached in ${capped.map((c) => `${c.case} c=${c.concurrency}`).join(', ')}`,
      );
    if (r.warnings.length)
      out.push(`gateway warnings (${r.warnings.length}): ${r.warnings.slice(0, 3).join(' | ')}`);
  }
  if (results.signing) {
    h(`2. Sign + verify per request (N = ${fmtInt(results.signing.n)}, relay kind, fresh nonce each)`);
    out.push(table(['operation', 'µs/op', 'ops/s'], signRows(results.signing)));
    out.push('', `replay of a used signature refused: ${results.signing.replayRefused ? 'yes' : 'NO'}`);
  }
  if (results.log) {
    const l = results.log;
    h(`3. Log throughput (SqliteStore, N = ${fmtInt(l.n)})`);
    out.push(table(['step', 'records', 'seconds', 'records/s', 'µs/record'], logRows(l)));
    out.push(
      '',
      `chain ${l.chainOk ? 'ok' : 'BROKEN'}, ${fmtInt(l.checked)}/${fmtInt(l.n)} records, newest seq ${l.newestSeq} → ${l.nothingLost ? 'nothing lost' : 'RECORDS LOST'}; db ${fmt(l.dbBytes / 1024 / 1024, 1)} MiB`,
    );
  }
  if (results.sdk) {
    const k = results.sdk;
    h(`4. SDK overhead (Node fetch, GET 1 KiB on 127.0.0.1, one forked client: bench/sdk.mjs)`);
    const pairText = {
      instrumented: markdown
        ? "### a. Instrumented vs hand-signed, through the same gateway\n\nhand-signed = `GatewayClient.relay()` (signs, sends with the original fetch, nothing installed); instrumented = plain `fetch(targetUrl)` under `autoInstrument({ instrumentHosts: ['127.0.0.1'] })`, relayed by the SDK. Halves A-B-B-A; client CPU µs/req = the SDK client process.\n"
        : 'a. Instrumented vs hand-signed through the same gateway (hand-signed = GatewayClient.relay(); instrumented = fetch under autoInstrument, 127.0.0.1 in instrumentHosts; halves A-B-B-A):',
      excluded: markdown
        ? '### b. Installed but excluded vs plain, direct to the target\n\nplain = `fetch(targetUrl)` with nothing installed; excluded = the same fetch with `autoInstrument()` installed and 127.0.0.1 not in instrumentHosts, so it goes direct. Halves C-D-D-C, `restore()` after the D halves.\n'
        : 'b. Installed but excluded vs plain, direct to the target (127.0.0.1 not in instrumentHosts; halves C-D-D-C, restore() after the D halves):',
    };
    for (const pair of SDK_PAIRS) {
      const cells = k.cells.filter((c) => c.pair === pair.key);
      if (!cells.length) continue;
      out.push(pairText[pair.key]);
      out.push(table(sdkHeaders(pair.baseline, pair.sdk), sdkRows(cells)));
      const halves = cells.map(
        (c) => `c${c.concurrency} ${c.halvesRps.split(',').map(Number).map(fmtInt).join(' · ')}`,
      );
      out.push(
        `${markdown ? '\n' : ''}req/s by half, in run order (${SDK_ARM_LABELS[pair.baseline]}, ${SDK_ARM_LABELS[pair.sdk]}, ${SDK_ARM_LABELS[pair.sdk]}, ${SDK_ARM_LABELS[pair.baseline]}): ${halves.join('; ')}`,
        '',
      );
    }
    out.push(
      `Goals: instrumented/hand-signed close to 1 (≥ ${GOALS.sdkInstrumentedRatio}, the SDK's own cost); excluded/plain ≥ ${GOALS.sdkExcludedRatio} (near-zero cost where nothing is done).`,
      sdkRatioLine(k.cells, 'instrumented', 'Instrumented/hand-signed req/s'),
      sdkRatioLine(k.cells, 'excluded', 'Excluded/plain req/s'),
      sdkWarmupLine(k),
    );
    for (const c of k.cells) {
      for (const arm of [c.baseline, c.sdk]) {
        if (c[arm].errors)
          out.push(
            `errors in ${SDK_ARM_LABELS[arm]} c=${c.concurrency} (${c[arm].errors}): ${c[arm].firstError}`,
          );
      }
    }
    const capped = k.cells.filter((c) => c[c.baseline].capped || c[c.sdk].capped);
    if (capped.length)
      out.push(
        `note: request cap reached in ${capped.map((c) => `${c.pair} c=${c.concurrency}`).join(', ')}`,
      );
    if (k.warnings.length)
      out.push(`SDK/gateway warnings (${k.warnings.length}): ${k.warnings.slice(0, 3).join(' | ')}`);
  }
  if (results.mcp) {
    const c = results.mcp.coldStart;
    const w = results.mcp.wrap;
    h('5. MCP: sphyr-mcp over stdio (MCP SDK Client + StdioClientTransport, `node <file>` spawns)');
    out.push(
      markdown
        ? `### a. Cold start: spawn → initialize response, median of ${c.sphyrMcp.n}

sphyr-mcp = \`node bin/sphyr-mcp.js\` standalone (SPHYR_* → gateway on 127.0.0.1); minimal = bench/minimal-mcp-server.mjs (McpServer, one \`echo\` tool). RSS = the child's VmRSS right after initialize (median).
`
        : `a. Cold start, spawn → initialize response, median of ${c.sphyrMcp.n} (sphyr-mcp standalone vs bench/minimal-mcp-server.mjs; RSS = child VmRSS right after initialize):`,
    );
    out.push(
      table(
        ['server', 'median ms', 'min ms', 'max ms', 'RSS MiB'],
        [
          [
            'sphyr-mcp',
            fmt(c.sphyrMcp.medianMs, 1),
            fmt(c.sphyrMcp.minMs, 1),
            fmt(c.sphyrMcp.maxMs, 1),
            fmt(c.sphyrMcp.rssMiB, 1),
          ],
          [
            'minimal MCP server',
            fmt(c.minimal.medianMs, 1),
            fmt(c.minimal.minMs, 1),
            fmt(c.minimal.maxMs, 1),
            fmt(c.minimal.rssMiB, 1),
          ],
        ],
      ),
      '',
      `sphyr-mcp/minimal cold start: ${fmt(c.ratio, 2)}× (+${fmt(c.sphyrMcp.medianMs - c.minimal.medianMs, 1)} ms, RSS +${fmt(c.sphyrMcp.rssMiB - c.minimal.rssMiB, 1)} MiB). Goal: ${c.goal}: ${c.goalMet ? 'met' : 'MISSED'}.`,
      '',
    );
    out.push(
      markdown
        ? `### b. Wrap overhead: tools/call round trip, echo {message:'x'}

direct = \`node …/server-everything/dist/index.js stdio\`; wrapped = \`sphyr-mcp -- node …/server-everything/dist/index.js stdio\` (each call reported to the gateway). Sequential, ${w.warmup} warm-up calls per arm, then ${w.direct.calls + w.direct.errors} per arm in halves A-B-B-A. main CPU µs/call = this process: the MCP client and, for wrapped, the in-process gateway taking the tool-call reports (it shares the client's event loop, so its work can delay the next call a little).
`
        : `b. Wrap overhead, tools/call echo round trip, sequential (${w.warmup} warm-up per arm, then halves A-B-B-A; wrapped = sphyr-mcp -- server-everything; main CPU = MCP client + in-process gateway taking the reports):`,
    );
    out.push(
      table(
        ['arm', 'calls', 'p50 ms', 'p99 ms', 'mean ms', 'main CPU µs/call', 'errors'],
        [
          [
            'direct',
            w.direct.calls,
            fmt(w.direct.p50Ms, 3),
            fmt(w.direct.p99Ms, 3),
            fmt(w.direct.meanMs, 3),
            fmtInt(w.direct.mainCpuUsPerCall),
            w.direct.errors,
          ],
          [
            'wrapped (sphyr-mcp)',
            w.wrapped.calls,
            fmt(w.wrapped.p50Ms, 3),
            fmt(w.wrapped.p99Ms, 3),
            fmt(w.wrapped.meanMs, 3),
            fmtInt(w.wrapped.mainCpuUsPerCall),
            w.wrapped.errors,
          ],
        ],
      ),
      '',
      `wrapped/direct: p50 ${fmt(w.p50Ratio, 2)}× (+${fmt(w.addedP50Ms, 3)} ms), p99 ${fmt(w.p99Ratio, 2)}× (+${fmt(w.addedP99Ms, 3)} ms); no goal.`,
      `Tool calls in the gateway log: ${fmtInt(w.toolCallsLogged)} of ${fmtInt(w.toolCallsSent)} wrapped calls${w.toolCallsLogged >= w.toolCallsSent ? '' : ' (MISSING REPORTS)'}.`,
    );
    for (const [name, a] of [
      ['direct', w.direct],
      ['wrapped', w.wrapped],
    ]) {
      if (a.errors) out.push(`errors in ${name} (${a.errors}): ${a.firstError}`);
    }
    if (results.mcp.warnings.length)
      out.push(
        `gateway warnings (${results.mcp.warnings.length}): ${results.mcp.warnings.slice(0, 3).join(' | ')}`,
      );
  }
  if (results.guard) out.push(...renderGuard(results.guard, fmt));
  if (results.console) out.push(...renderConsole(results.console, fmt));
  if (results.python) out.push(...renderPython(results.python, fmt, markdown));
  out.push(`\ntotal ${fmt(m.totalSeconds, 1)} s`);
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------- main

async function main() {
  const started = performance.now();
  const tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'sphyr-bench-'));
  const results = {
    meta: {
      date: new Date().toISOString(),
      commit: gitCommit(),
      node: process.versions.node,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown',
      // Lists as strings: keeps latest.json in the layout `biome check` expects.
      settings: {
        ...SETTINGS,
        concurrency: SETTINGS.concurrency.join(','),
        sdkConcurrency: SETTINGS.sdkConcurrency.join(','),
        sections: SETTINGS.sections.join(','),
      },
      goals: GOALS,
      layout:
        'gateway and bare proxy in the main process (bench/run.mjs, bench/bare-proxy.mjs); target, load generator and SDK client forked (bench/target.mjs, bench/load.mjs, bench/sdk.mjs); MCP servers spawned over stdio, the MCP client in the main process (bench/mcp.mjs)',
    },
  };
  results.meta.machineBusyBeforePercent = await sampleMachineLoad(1000);
  if (results.meta.machineBusyBeforePercent > 15) {
    log(
      `warning: the machine is already ${results.meta.machineBusyBeforePercent}% busy; numbers will be noisy`,
    );
  }
  try {
    if (SETTINGS.sections.includes('relay')) {
      const relay = await relayBench(tmpRoot);
      log('relay: verifying the gateway log');
      relay.gatewayLog = await checkGatewayLog(tmpRoot, relay.relayedSent);
      results.relay = relay;
    }
    if (SETTINGS.sections.includes('sign')) {
      log('sign + verify');
      results.signing = await signBench();
    }
    if (SETTINGS.sections.includes('log')) {
      log('log append + verify');
      results.log = await logBench(tmpRoot);
    }
    if (SETTINGS.sections.includes('sdk')) {
      results.sdk = await sdkBench(tmpRoot);
    }
    if (SETTINGS.sections.includes('mcp')) {
      results.mcp = await mcpSection(tmpRoot);
    }
    if (SETTINGS.sections.includes('guard')) {
      log('guard: init --dry-run and a 1 MB JSONC edit');
      results.guard = await guardBench(tmpRoot, log);
    }
    if (SETTINGS.sections.includes('console')) {
      log('console: the request log page at scale (BENCH_CONSOLE_N records)');
      results.console = await consoleBench(tmpRoot, log);
    }
    if (SETTINGS.sections.includes('python')) {
      results.python = await pythonBench(tmpRoot, log, SETTINGS.seconds);
    }
  } finally {
    await rm(tmpRoot, { recursive: true, force: true });
  }
  results.meta.totalSeconds = round((performance.now() - started) / 1000, 1);

  process.stdout.write(render(results, false));
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(path.join(RESULTS_DIR, 'latest.md'), render(results, true));
  log(`wrote ${path.relative(process.cwd(), path.join(RESULTS_DIR, 'latest.json'))} and latest.md`);
}

await main();
