/**
 * The SDK's own overhead, forked by bench/run.mjs so that autoInstrument()'s process-wide patch
 * (global fetch and undici's global dispatcher) never touches the harness.
 *
 * A closed-loop client like bench/load.mjs, but its requests are made the way an application makes
 * them, with Node's fetch, so the SDK's cost is inside the numbers. Four arms, all `GET /1k` on the
 * local target (bench/target.mjs), the body read to the end:
 *   hand          GatewayClient.relay() through the gateway: signs and sends with the original fetch
 *                 (the "hand-signed" baseline), instrumentation NOT installed;
 *   instrumented  plain `fetch(targetUrl)` with autoInstrument({ instrumentHosts: ['127.0.0.1'] })
 *                 installed, so the SDK's interceptor signs it and relays it through the same gateway;
 *   plain         plain `fetch(targetUrl)`, instrumentation NOT installed (direct to the target);
 *   excluded      plain `fetch(targetUrl)` with autoInstrument() installed but 127.0.0.1 not listed
 *                 in instrumentHosts (loopback is excluded by default), so it goes direct as well.
 * The arm picks the instrumentation state before its run starts (install with autoInstrument(),
 * remove with restore()), outside the timed window. Every install builds a fresh GatewayClient, which
 * registers its agent on first use, so an install is followed by a few untimed priming requests.
 * Both states share the one keep-alive undici Agent (the SDK composes onto it), so sockets stay warm.
 *
 * IPC (structured clone, `serialization: 'advanced'`):
 *   { type: 'init', gatewayUrl, credential, targetUrl }                       → { type: 'ready' }
 *   { id, type: 'run', arm, concurrency, durationMs, maxRequests, record }   → { id, type: 'result', … }
 *   { type: 'close' }: restore(), close the dispatcher and disconnect, so the process exits by itself.
 */
import { performance } from 'node:perf_hooks';
import { GatewayClient } from '../dist/src/client/gateway-client.js';
import { parseCredential } from '../dist/src/config/credential.js';
import autoInstrument from '../dist/src/index.js';

/** Node's fetch reads its dispatcher from this slot (see src/sdk/auto-instrument.ts). */
const DISPATCHER = Symbol.for('undici.globalDispatcher.1');
/** A run that has not finished this long after its deadline is cut off (its requests count as errors). */
const WATCHDOG_MS = 30_000;
const EXPECT_BYTES = 1024;
const ARMS = ['hand', 'instrumented', 'plain', 'excluded'];

/** Captured before anything is installed: the transport GatewayClient uses and the "plain" fetch. */
const originalFetch = globalThis.fetch;
let config;
let handClient;
/** The instrumentation in force: `{ mode: 'instrumented' | 'excluded', handle }`, or undefined. */
let installed;
const warnings = [];

function setInstrumentation(mode) {
  if (installed?.mode === mode) return false;
  installed?.handle.restore();
  installed = undefined;
  if (!mode) return false;
  const handle = autoInstrument({
    gatewayUrl: config.gatewayUrl,
    credential: config.credential,
    agentName: `bench-sdk-${mode}`,
    failClosed: true,
    directHosts: [],
    instrumentHosts: mode === 'instrumented' ? ['127.0.0.1'] : [],
    warn: (message) => warnings.push(message),
  });
  installed = { mode, handle };
  return true;
}

/**
 * One request of the arm; resolves with a problem string, or undefined when it was a clean 200.
 * No AbortSignal: a signal shared by a run's requests collects one listener per fetch (thousands,
 * with a warning, and a cost that grows), and one per request would be measured too.
 */
async function requestOnce(arm) {
  const res =
    arm === 'hand'
      ? await handClient.relay({ method: 'GET', url: config.targetUrl })
      : await globalThis.fetch(config.targetUrl);
  const bytes = (await res.arrayBuffer()).byteLength;
  if (res.status !== 200) return `HTTP ${res.status}`;
  const outcome = res.headers.get('sphyr-outcome');
  const relayed = arm === 'hand' || arm === 'instrumented';
  // Proof the arm took the intended path: relayed answers carry the gateway's header, direct ones not.
  if (relayed && outcome !== 'allowed') return `sphyr-outcome ${outcome} (expected "allowed")`;
  if (!relayed && outcome !== null) return `sphyr-outcome ${outcome} on a request that should go direct`;
  if (bytes !== EXPECT_BYTES) return `got ${bytes} bytes, expected ${EXPECT_BYTES}`;
  return undefined;
}

async function run(spec) {
  if (!ARMS.includes(spec.arm)) throw new Error(`unknown arm "${spec.arm}"`);
  const mode = spec.arm === 'instrumented' || spec.arm === 'excluded' ? spec.arm : undefined;
  if (setInstrumentation(mode)) {
    // Untimed: the fresh client registers its agent, and each worker's connection gets warm.
    for (let i = 0; i < 3; i++) {
      const problems = await Promise.all(
        Array.from({ length: spec.concurrency }, () => requestOnce(spec.arm)),
      );
      const problem = problems.find(Boolean);
      if (problem) throw new Error(`${spec.arm}: priming request failed: ${problem}`);
    }
  }

  const latencies = spec.record ? new Float64Array(spec.maxRequests) : undefined;
  let issued = 0;
  let ok = 0;
  let errors = 0;
  let firstError;
  let cutOff = false;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const deadline = started + spec.durationMs;

  const worker = async () => {
    while (!cutOff && issued < spec.maxRequests && performance.now() < deadline) {
      issued += 1;
      const t0 = performance.now();
      let problem;
      try {
        problem = await requestOnce(spec.arm);
      } catch (error) {
        problem = `${error?.name ?? 'Error'}: ${error?.code ?? ''} ${error?.message ?? error}`.trim();
      }
      const elapsed = performance.now() - t0;
      if (cutOff) return;
      if (problem) {
        errors += 1;
        firstError ??= problem;
      } else {
        if (latencies) latencies[ok] = elapsed;
        ok += 1;
      }
    }
  };
  // Watchdog: a run still going this long after its deadline ends here; what is in flight is an error.
  let watchdog;
  const timedOut = new Promise((resolve) => {
    watchdog = setTimeout(() => {
      cutOff = true;
      resolve();
    }, spec.durationMs + WATCHDOG_MS);
  });
  await Promise.race([Promise.all(Array.from({ length: spec.concurrency }, () => worker())), timedOut]);
  clearTimeout(watchdog);
  const elapsedMs = performance.now() - started;
  if (cutOff) {
    const hung = issued - ok - errors;
    errors += hung;
    firstError ??= `${hung} request(s) still unanswered ${WATCHDOG_MS / 1000} s after the deadline`;
  }
  const cpu = process.cpuUsage(cpuStart);
  return {
    ok,
    errors,
    firstError,
    elapsedMs,
    capped: issued >= spec.maxRequests,
    latencies: latencies ? latencies.slice(0, ok) : undefined,
    cpuMs: (cpu.user + cpu.system) / 1000,
    warnings: warnings.splice(0),
  };
}

let closing = false;

/** Back to the original fetch, then let the keep-alive sockets go: nothing is left to hold the process. */
async function close() {
  if (closing) return;
  closing = true;
  setInstrumentation(undefined);
  // destroy(), not close(): a request a watchdog gave up on must not hold the exit.
  await Promise.resolve(globalThis[DISPATCHER]?.destroy?.()).catch(() => {});
  if (process.connected) process.disconnect();
}

process.on('message', (message) => {
  if (message.type === 'init') {
    config = { ...message, credential: parseCredential(message.credential, 'the bench credential') };
    handClient = new GatewayClient({
      gatewayUrl: config.gatewayUrl,
      credential: config.credential,
      agent: { name: 'bench-sdk-hand' },
      fetch: originalFetch,
    });
    handClient.agentId().then(
      () => process.send({ type: 'ready' }),
      (error) => process.send({ type: 'ready', error: String(error?.message ?? error) }),
    );
  } else if (message.type === 'run') {
    run(message).then(
      (result) => process.send({ id: message.id, type: 'result', ...result }),
      (error) => process.send({ id: message.id, type: 'error', message: String(error?.stack ?? error) }),
    );
  } else if (message.type === 'close') {
    void close();
  }
});
// If the parent dies, do not linger.
process.on('disconnect', () => void close());
