/**
 * Section "mcp" of bench/run.mjs: the sphyr-mcp stdio server, driven by the MCP SDK's own client
 * (Client + StdioClientTransport), every child spawned as `node <file> ...` from the repo root.
 *
 *  a. Cold start: spawn → initialize response (the time `client.connect(transport)` takes), for
 *     `node bin/sphyr-mcp.js` (standalone, SPHYR_* pointing at the gateway run.mjs started, HOME a
 *     temp dir) and for bench/minimal-mcp-server.mjs (McpServer + one `echo` tool), alternating,
 *     one unrecorded spawn of each first; plus each child's VmRSS right after initialize.
 *  b. Wrap overhead: sequential `tools/call` echo {message:'x'} round trips to server-everything
 *     direct vs through `sphyr-mcp -- node …/server-everything/dist/index.js stdio` (every call
 *     reported to the gateway); warm-up, then halves A-B-B-A.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The published entry (bin/sphyr-mcp.js in a clone only forwards to it).
const SPHYR_MCP = path.join(ROOT, 'packages', 'sdk', 'bin', 'sphyr-mcp.js');
const MINIMAL = path.join(ROOT, 'bench', 'minimal-mcp-server.mjs');
const EVERYTHING = path.join(
  ROOT,
  'node_modules',
  '@modelcontextprotocol',
  'server-everything',
  'dist',
  'index.js',
);

/** Resident set of a process in MiB, from /proc (null where there is no /proc). */
function rssMiB(pid) {
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

function median(values) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile of an ascending-sorted array. */
function percentile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Spawn `node <args>` over stdio and connect a Client; resolves once initialize has answered. */
async function connect(args, env) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    env,
    cwd: ROOT,
    stderr: 'pipe',
  });
  // Drain the child's stderr (its log); keep the tail for error messages.
  let stderrTail = '';
  transport.stderr?.on('data', (chunk) => {
    stderrTail = (stderrTail + chunk).slice(-2000);
  });
  const client = new Client({ name: 'sphyr-bench', version: '0.0.0' });
  const t0 = performance.now();
  try {
    await client.connect(transport);
  } catch (error) {
    await transport.close().catch(() => {});
    throw new Error(`node ${args.join(' ')}: ${error.message}\n${stderrTail}`);
  }
  const connectMs = performance.now() - t0;
  const pid = transport.pid;
  return {
    client,
    pid,
    connectMs,
    rssMiB: pid ? rssMiB(pid) : null,
    stderrTail: () => stderrTail,
    /** Close stdin; the transport then SIGTERMs and SIGKILLs a child that lingers. */
    async close() {
      await client.close().catch(() => {});
      if (pid) {
        try {
          process.kill(pid, 0);
          process.kill(pid, 'SIGKILL'); // still there after the transport gave up: our own child
        } catch {
          // gone, as it should be
        }
      }
    },
  };
}

/**
 * @param {object} o
 * @param {{ url: string, store: { query(q: object): Promise<object[]> } }} o.gateway
 * @param {string} o.credential   the credential's text form (SPHYR_CREDENTIAL)
 * @param {string} o.home         a temp dir for HOME
 * @param {number} o.coldN        cold starts per server
 * @param {number} o.warmup       warm-up calls per arm
 * @param {number} o.calls        recorded calls per arm (two halves)
 * @param {(m: string) => void} o.log
 */
export async function mcpBench({ gateway, credential, home, coldN, warmup, calls, log }) {
  const sphyrEnv = {
    HOME: home,
    SPHYR_GATEWAY_URL: gateway.url,
    SPHYR_CREDENTIAL: credential,
    SPHYR_AGENT_NAME: 'bench-mcp',
  };
  const plainEnv = { HOME: home };

  // ---- a. cold start
  const servers = {
    sphyr: { args: [SPHYR_MCP], env: sphyrEnv },
    minimal: { args: [MINIMAL], env: plainEnv },
  };
  const samples = { sphyr: [], minimal: [] };
  log('mcp: cold start');
  for (let i = -1; i < coldN; i++) {
    // Alternate which goes first so drift hits both alike; i = -1 is the unrecorded first spawn.
    const order = i % 2 === 0 ? ['sphyr', 'minimal'] : ['minimal', 'sphyr'];
    for (const name of order) {
      const s = await connect(servers[name].args, servers[name].env);
      await s.close();
      if (i >= 0) samples[name].push({ ms: s.connectMs, rssMiB: s.rssMiB });
    }
  }
  const coldStats = (list) => {
    const ms = list.map((s) => s.ms);
    return {
      n: list.length,
      medianMs: median(ms),
      minMs: Math.min(...ms),
      maxMs: Math.max(...ms),
      rssMiB: median(list.map((s) => s.rssMiB)),
    };
  };
  const cold = { sphyr: coldStats(samples.sphyr), minimal: coldStats(samples.minimal) };
  cold.ratio = cold.sphyr.medianMs / cold.minimal.medianMs;

  // ---- b. wrap overhead
  log('mcp: wrap overhead');
  const toolsBefore = await countToolRecords(gateway);
  let direct;
  let wrapped;
  try {
    direct = await connect([EVERYTHING, 'stdio'], plainEnv);
    wrapped = await connect([SPHYR_MCP, '--', process.execPath, EVERYTHING, 'stdio'], sphyrEnv);
    const arms = { direct, wrapped };
    const errors = { direct: 0, wrapped: 0 };
    const firstError = { direct: null, wrapped: null };
    // This process's CPU per recorded call: the MCP client, plus (wrapped arm) the gateway taking
    // sphyr-mcp's tool-call reports, which shares this event loop.
    const cpuUs = { direct: 0, wrapped: 0 };
    const run = async (arm, n, out) => {
      const { client } = arms[arm];
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        let problem = null;
        try {
          const result = await client.callTool({ name: 'echo', arguments: { message: 'x' } });
          if (result.isError || result.content?.[0]?.text !== 'Echo: x')
            problem = `unexpected result ${JSON.stringify(result).slice(0, 200)}`;
        } catch (error) {
          problem = error.message;
        }
        const ms = performance.now() - t0;
        if (problem) {
          errors[arm]++;
          firstError[arm] ??= problem;
        } else out?.push(ms);
      }
      if (out) {
        const cpu = process.cpuUsage(cpu0);
        cpuUs[arm] += cpu.user + cpu.system;
      }
    };
    await run('direct', warmup);
    await run('wrapped', warmup);
    const lat = { direct: [], wrapped: [] };
    const half = Math.ceil(calls / 2);
    for (const arm of ['direct', 'wrapped', 'wrapped', 'direct']) await run(arm, half, lat[arm]);

    // Every wrapped call (warm-up included) is reported to the gateway, after the answer; wait a little.
    const expected = 2 * half + warmup;
    let reported = 0;
    for (const deadline = performance.now() + 5000; performance.now() < deadline; ) {
      reported = (await countToolRecords(gateway)) - toolsBefore;
      if (reported >= expected) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const stats = (arm) => {
      const sorted = Float64Array.from(lat[arm]).sort();
      return {
        calls: sorted.length,
        errors: errors[arm],
        firstError: firstError[arm],
        p50Ms: percentile(sorted, 0.5),
        p99Ms: percentile(sorted, 0.99),
        meanMs: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
        mainCpuUsPerCall: cpuUs[arm] / (sorted.length + errors[arm] || 1),
      };
    };
    const d = stats('direct');
    const w = stats('wrapped');
    return {
      cold,
      wrap: {
        warmup,
        direct: d,
        wrapped: w,
        p50Ratio: w.p50Ms / d.p50Ms,
        p99Ratio: w.p99Ms / d.p99Ms,
        addedP50Ms: w.p50Ms - d.p50Ms,
        addedP99Ms: w.p99Ms - d.p99Ms,
        toolCallsSent: expected,
        toolCallsLogged: reported,
      },
    };
  } finally {
    await Promise.all([direct?.close(), wrapped?.close()]);
  }
}

/** Tool-call records in the gateway's log so far. */
async function countToolRecords(gateway) {
  const records = await gateway.store.query({ limit: 1_000_000 });
  return records.filter((r) => r.kind === 'tool').length;
}
