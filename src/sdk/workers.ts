/**
 * @module Every thread of the process is guarded. Instrumentation is per thread (each has its own
 * fetch, modules and http), and Node 20 runs neither `autoInstrument()` nor `--import` in a worker.
 * So `worker_threads.Worker` is replaced by a subclass whose threads first load `worker-entry.js`,
 * which instruments the thread with this thread's settings (passed as environment data, so workers
 * started by workers get them too), then runs the worker's own code: a file, a file or data: URL, or
 * eval code. A Worker class taken before this ran cannot be replaced; the `worker_threads`
 * diagnostics channel, published synchronously as any thread starts, catches its threads: stopped
 * with `worker_not_instrumented` when failing closed, reported loudly when failing open.
 */
import { randomUUID } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker as NodeWorker, WorkerOptions } from 'node:worker_threads';
import { SphyrConfigError } from '../errors.js';
import type { AutoInstrumentOptions, SdkSettings } from './options.js';
import type { SdkState } from './state.js';

const threads = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');

/** The environment-data key under which a thread's settings reach the workers it starts. */
const SETTINGS_KEY = 'sphyr.sdk.worker-settings';

/** The settings a worker instruments itself with: this thread's, in a form that can be cloned. */
export interface WorkerSettings {
  gatewayUrl?: string;
  credential?: string;
  failClosed: boolean;
  agentName: string;
  directHosts: string[];
  instrumentHosts: string[];
  /** A BroadcastChannel on which the first instrumented thread hears its workers' warnings. */
  warnChannel?: string;
}

/** What a worker runs once instrumented. */
export type WorkerEntry =
  | { kind: 'eval'; code: string }
  | { kind: 'file'; path: string }
  | { kind: 'module'; url: string };

/** Beside the register entry, in the published bundle and in tsc's output alike (found by name, so a
 * bundler moving this module into a chunk cannot break the path). */
const ENTRY_FILE = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@sphyr/sdk/register')),
  'worker-entry.js',
);

const FIX =
  'Call autoInstrument() before any module takes worker_threads.Worker, or start node with --import @sphyr/sdk/register.';

/** The settings this thread inherited from the thread that started it, if any. */
export function inheritedSettings(): WorkerSettings | undefined {
  if (threads.isMainThread) return undefined;
  return threads.getEnvironmentData(SETTINGS_KEY) as WorkerSettings | undefined;
}

/** The settings for this thread's workers. */
function settingsForWorkers(settings: SdkSettings, warnChannel: string | undefined): WorkerSettings {
  return {
    // A broken credential or URL stays out: the worker resolves them again, and fails as this thread did.
    ...(settings.problem
      ? {}
      : { gatewayUrl: settings.gatewayUrl, credential: settings.credential?.reveal() }),
    failClosed: settings.failClosed,
    agentName: settings.agentName,
    directHosts: [...settings.directHosts],
    instrumentHosts: [...settings.instrumentHosts],
    ...(warnChannel ? { warnChannel } : {}),
  };
}

/** `autoInstrument()` options from inherited settings, warnings going where `settings` says. */
export function optionsFrom(settings: WorkerSettings): AutoInstrumentOptions {
  const prefix = `worker thread ${threads.threadId}: `;
  let warn: (message: string) => void;
  if (settings.warnChannel) {
    const channel = new threads.BroadcastChannel(settings.warnChannel);
    (channel as unknown as { unref(): void }).unref();
    warn = (message) => channel.postMessage(prefix + message);
  } else {
    warn = (message) => process.stderr.write(`sphyr: ${prefix}${message}\n`);
  }
  const { warnChannel: _, ...options } = settings;
  return { ...options, warn };
}

/** The eval bootstrap for a worker's entry, or undefined when Sphyr cannot run it (Node then decides). */
function bootstrap(filename: unknown, options: WorkerOptions): string | undefined {
  let entry: WorkerEntry | undefined;
  if (options.eval) {
    const execArgv = options.execArgv ?? process.execArgv;
    // Eval code that Node would run as an ES module cannot follow a script of ours.
    const asModule = execArgv.some(
      (a, i) => a === '--input-type=module' || (a === '--input-type' && execArgv[i + 1] === 'module'),
    );
    if (typeof filename === 'string' && !asModule) entry = { kind: 'eval', code: filename };
  } else if (filename instanceof URL) {
    if (filename.protocol === 'data:') entry = { kind: 'module', url: filename.href };
    else if (filename.protocol === 'file:') entry = { kind: 'file', path: fileURLToPath(filename) };
  } else if (typeof filename === 'string' && (path.isAbsolute(filename) || /^\.\.?[\\/]/.test(filename))) {
    entry = { kind: 'file', path: path.resolve(filename) };
  }
  if (!entry) return undefined;
  return `require(${JSON.stringify(ENTRY_FILE)}).run(${JSON.stringify(entry)});`;
}

/**
 * Guard every thread started from now on: replace `worker_threads.Worker`, pass this thread's
 * settings on, and catch threads of a Worker class taken earlier. Returns the undo.
 */
export function guardWorkers(state: SdkState, customWarn: boolean): () => void {
  const undo: Array<() => void> = [];
  const inherited = inheritedSettings();
  let warnChannel = inherited?.warnChannel;
  if (!inherited && customWarn) {
    // Workers' warnings come back to this thread's own `warn`.
    warnChannel = `sphyr.sdk.warnings.${randomUUID()}`;
    const listener = new threads.BroadcastChannel(warnChannel);
    listener.onmessage = (event) => state.settings.warn(String((event as MessageEvent).data));
    (listener as unknown as { unref(): void }).unref();
    undo.push(() => listener.close());
  }
  threads.setEnvironmentData(SETTINGS_KEY, settingsForWorkers(state.settings, warnChannel) as never);
  undo.push(() => threads.setEnvironmentData(SETTINGS_KEY, undefined as never));

  // Threads being started by our own class, instrumented: the diagnostics channel lets them pass.
  let ours = 0;
  if (existsSync(ENTRY_FILE)) {
    const Original = threads.Worker;
    const Guarded = class Worker extends Original {
      constructor(filename: string | URL, options: WorkerOptions = {}) {
        const code = state.active ? bootstrap(filename, options) : undefined;
        if (code) ours += 1;
        try {
          super(code ?? filename, code ? { ...options, eval: true } : options);
        } finally {
          if (code) ours -= 1;
        }
      }
    };
    threads.Worker = Guarded;
    syncBuiltinESMExports(); // `import { Worker } from 'node:worker_threads'` sees it too
    undo.push(() => {
      if (threads.Worker === Guarded) {
        threads.Worker = Original;
        syncBuiltinESMExports();
      }
    });
  }

  const onThread = (message: unknown) => {
    const worker = (message as { worker?: NodeWorker }).worker;
    if (!worker || ours > 0 || !state.active) return;
    if (worker.constructor?.name === 'InternalWorker') return; // Node's own (the module loader's)
    const closed = state.settings.failClosed;
    const what = `worker thread ${worker.threadId} was started by a Worker class taken before autoInstrument() ran (or with code Sphyr cannot run first), so it is not instrumented`;
    state.settings.warn(
      closed
        ? `${what}; it was stopped. ${FIX}`
        : `${what}; its requests are going DIRECT, unscreened and unlogged, because failClosed is false. ${FIX}`,
    );
    if (!closed) return;
    void worker.terminate();
    const error = new SphyrConfigError('worker_not_instrumented', `${what}, so it was stopped. ${FIX}`);
    process.nextTick(() => worker.emit('error', error));
  };
  subscribe('worker_threads', onThread);
  undo.push(() => unsubscribe('worker_threads', onThread));

  return () => {
    for (const u of undo.reverse()) u();
  };
}
