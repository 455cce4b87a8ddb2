import path from 'node:path';
import { GatewayClient } from '../client/gateway-client.js';
import { isSphyrError } from '../errors.js';
import { instrumentAxiosCopies } from './axios-copies.js';
import { type Dispatch, sphyrInterceptor } from './interceptor.js';
import { type AutoInstrumentOptions, resolveSdkSettings } from './options.js';
import type { SdkState } from './state.js';
import { guardWorkers } from './workers.js';

/** Node's fetch reads its dispatcher from this slot (undici ≥ 7.2 mirrors its own `.2` slot here). */
const DISPATCHER = Symbol.for('undici.globalDispatcher.1');
/** Shared across copies of this package in one process, so two copies never instrument twice. */
const REGISTRY = Symbol.for('sphyr.instrumentation');

interface Composable {
  compose?(interceptor: (dispatch: Dispatch) => Dispatch): unknown;
  dispatch(opts: unknown, handler: unknown): boolean;
}

interface Registry {
  state: SdkState;
  /** Undo what was patched beyond fetch: axios copies, the guard below them, worker threads. */
  unpatchAxios: Array<() => void>;
  refs: number;
  originalFetch: typeof fetch;
  originalDispatcher: unknown;
  ours: WeakSet<object>;
  perCall: WeakMap<object, unknown>;
  interceptor: (dispatch: Dispatch) => Dispatch;
  guard: typeof fetch;
}

/** What `autoInstrument()` returns. */
export interface Instrumentation {
  /** Undo this call's instrumentation; the last `restore()` puts fetch back exactly as it was. */
  restore(): void;
}

type Slots = Record<symbol, unknown>;

function compose(reg: Registry, dispatcher: unknown): unknown {
  const d = dispatcher as Composable;
  if (typeof d?.compose === 'function') return d.compose(reg.interceptor);
  // Runtimes without compose(): the same thing by hand, a dispatcher whose dispatch is ours.
  const dispatch = reg.interceptor(d.dispatch.bind(d) as Dispatch);
  return new Proxy(d, { get: (t, p, r) => (p === 'dispatch' ? dispatch : Reflect.get(t, p, r)) });
}

/** Put our interceptor on whatever dispatcher fetch uses now, unless it is already ours. */
function ensureDispatcher(reg: Registry): void {
  const slots = globalThis as unknown as Slots;
  const current = slots[DISPATCHER];
  if (current && reg.ours.has(current as object)) return;
  if (!current) void reg.originalFetch('data:,').catch(() => {}); // Node creates its Agent on first use
  const base = slots[DISPATCHER];
  const composed = compose(reg, base) as object;
  reg.ours.add(composed);
  slots[DISPATCHER] = composed;
}

/** fetch hides a dispatcher's error as `TypeError('fetch failed', {cause})`: surface ours. */
function unwrapSphyrError(error: unknown): never {
  const cause = (error as { cause?: unknown }).cause;
  throw isSphyrError(cause) ? cause : error;
}

function install(options: AutoInstrumentOptions): Registry {
  const settings = resolveSdkSettings(options);
  const state: SdkState = {
    active: true,
    settings,
    client:
      settings.credential && settings.gatewayUrl
        ? new GatewayClient({
            gatewayUrl: settings.gatewayUrl,
            credential: settings.credential,
            agent: { name: settings.agentName },
          })
        : undefined,
    tainted: new Map(),
    warnedFailOpen: false,
    routes: new Map(),
  };
  if (settings.problem) settings.warn(`not signing requests: ${settings.problem.message}`);
  const originalFetch = globalThis.fetch;
  const slots = globalThis as unknown as Slots;
  if (!slots[DISPATCHER]) void originalFetch('data:,').catch(() => {});
  const reg: Registry = {
    state,
    refs: 0,
    originalFetch,
    originalDispatcher: slots[DISPATCHER],
    ours: new WeakSet(),
    perCall: new WeakMap(),
    interceptor: sphyrInterceptor(state),
    guard: undefined as unknown as typeof fetch,
    unpatchAxios: [],
  };
  // Every axios copy (≥ 1.6.7), loaded already or later, from any folder; a guard for the rest.
  // argv[1] is the main script (absolute), or under `node -e` an argument, or '[worker eval]' in a
  // worker: only an absolute path is a folder to look in.
  const main = process.argv[1];
  const roots = [process.cwd(), ...(main && path.isAbsolute(main) ? [path.dirname(main)] : [])];
  reg.unpatchAxios.push(instrumentAxiosCopies(state, roots));
  // Every thread: workers started from now on instrument themselves first with these settings.
  reg.unpatchAxios.push(guardWorkers(state, options.warn !== undefined));
  // The guard closes what the dispatcher layer alone cannot: a dispatcher replaced later, a
  // per-call `dispatcher`, and fetch's habit of hiding our error inside `TypeError('fetch failed')`.
  reg.guard = function fetch(input: string | URL | Request, init?: RequestInit) {
    if (state.active) {
      ensureDispatcher(reg);
      const own = (init as { dispatcher?: object } | undefined)?.dispatcher;
      if (own && !reg.ours.has(own)) {
        let composed = reg.perCall.get(own);
        if (!composed) {
          composed = compose(reg, own);
          reg.ours.add(composed as object);
          reg.perCall.set(own, composed);
        }
        init = { ...init, dispatcher: composed } as RequestInit;
      }
    }
    return originalFetch(input, init).catch(unwrapSphyrError);
  } as typeof fetch;
  Object.assign(reg.guard, originalFetch); // keep markers frameworks put on fetch (e.g. Next.js)
  ensureDispatcher(reg);
  globalThis.fetch = reg.guard;
  return reg;
}

function uninstall(reg: Registry): void {
  reg.state.active = false;
  for (const unpatch of reg.unpatchAxios) unpatch();
  const slots = globalThis as unknown as Slots;
  // Put things back only where they are still ours; someone who wrapped us keeps their wrapper,
  // and our layers below it are now pass-through (state.active is false).
  if (globalThis.fetch === reg.guard) globalThis.fetch = reg.originalFetch;
  if (reg.ours.has(slots[DISPATCHER] as object)) slots[DISPATCHER] = reg.originalDispatcher;
  delete slots[REGISTRY];
}

/**
 * Route every outbound `fetch` of this process through the Sphyr gateway: signed, screened and
 * logged. Loopback, RFC 1918 and the gateway itself go direct; everything else is relayed, each
 * redirect hop screened again. Calling it twice instruments once; each call's `restore()` undoes it.
 *
 * @example
 * import autoInstrument from '@sphyr/sdk';
 * autoInstrument();
 * const res = await fetch('https://api.example.com/data'); // signed, policy-checked, logged
 */
export function autoInstrument(options: AutoInstrumentOptions = {}): Instrumentation {
  const slots = globalThis as unknown as Slots;
  const reg = (slots[REGISTRY] as Registry | undefined) ?? install(options);
  slots[REGISTRY] = reg;
  reg.refs += 1;
  let restored = false;
  return {
    restore() {
      if (restored) return;
      restored = true;
      reg.refs -= 1;
      if (reg.refs === 0) uninstall(reg);
    },
  };
}

/** The state of the instrumentation in force in this process, if any (for `wrapHttp`). */
export function currentState(): SdkState | undefined {
  return ((globalThis as unknown as Slots)[REGISTRY] as Registry | undefined)?.state;
}
