/**
 * @module The net below axios. Every axios copy is patched where it loads (`axios-copies.ts`), but
 * two kinds cannot be: an ES-module copy loaded before `autoInstrument()` ran without the loader hook
 * (`--import @sphyr/sdk/register`), and a copy too old to patch. Their requests still go through
 * Node's http, https or http2, so this guard looks there for an axios adapter on the stack and refuses
 * the request, naming the copy (failing open: lets it go direct, with a warning naming the copy).
 * Never silently direct. Routes that are direct by design and Sphyr's own sends pass untouched.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { SphyrConfigError } from '../errors.js';
import { requestTarget } from './http-target.js';
import { routeFor, type SdkState } from './state.js';

const ours = new AsyncLocalStorage<true>();

/** Run a send Sphyr makes on purpose outside the gateway (failing open), so the guard lets it pass. */
export function sendingOurselves<T>(send: () => T): T {
  return ours.run(true, send);
}

/** The function in axios's http adapter (CommonJS and ESM builds alike) that opens each request. */
const ADAPTER_FRAME = /\bat (?:async )?dispatchHttpRequest \((.+?):\d+:\d+\)/;

/** The axios copy whose adapter is on the stack (its package folder), if any. */
function axiosOnStack(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const file = ADAPTER_FRAME.exec(stack)?.[1];
  if (!file) return undefined;
  let filePath = file;
  try {
    if (file.startsWith('file:')) filePath = fileURLToPath(file);
  } catch {
    // Not a file URL after all: name it as the stack did.
  }
  return /^(.*[\\/]node_modules[\\/]axios)[\\/]/.exec(filePath)?.[1] ?? filePath;
}

const WHY =
  'it was loaded as an ES module before autoInstrument() ran, without the loader hook, or it is older than axios 1.6.7';
const FIX =
  'Start node with --import @sphyr/sdk/register, or call autoInstrument() before the module that imports axios is loaded.';

function targetOf(protocol: string, args: unknown[]): URL | undefined {
  try {
    if (protocol === 'h2') return new URL(String(args[0]));
    return requestTarget(protocol, args[0] as string, typeof args[1] === 'object' ? (args[1] as object) : {});
  } catch {
    return undefined;
  }
}

/** Put the guard on http/https `request` and `get` and on http2 `connect`; returns the undo. */
export function guardBelowAxios(state: SdkState): () => void {
  const reported = new Set<string>();
  const check = (protocol: string, args: unknown[]) => {
    if (!state.active || ours.getStore()) return;
    const target = targetOf(protocol, args);
    if (!target || routeFor(state, target) === 'direct') return;
    const copy = axiosOnStack();
    if (!copy) return;
    const closed = state.settings.failClosed;
    if (!reported.has(copy)) {
      reported.add(copy);
      state.settings.warn(
        closed
          ? `axios at ${copy} is not instrumented (${WHY}); its requests are refused. ${FIX}`
          : `axios at ${copy} is not instrumented (${WHY}); its requests are going DIRECT, unscreened and unlogged, because failClosed is false. ${FIX}`,
      );
    }
    if (closed) {
      throw new SphyrConfigError(
        'axios_not_instrumented',
        `axios at ${copy} is not instrumented (${WHY}), so its request to ${target.origin} was refused and nothing was sent. ${FIX}`,
      );
    }
  };
  const undo: Array<() => void> = [];
  const guard = (module: object, name: string, protocol: string) => {
    const slots = module as Record<string, (...args: unknown[]) => unknown>;
    const original = slots[name]!;
    const guarded = function (this: unknown, ...args: unknown[]) {
      check(protocol, args);
      return original.apply(this, args);
    };
    slots[name] = guarded;
    undo.push(() => {
      if (slots[name] === guarded) slots[name] = original;
    });
  };
  guard(http, 'request', 'http:');
  guard(http, 'get', 'http:');
  guard(https, 'request', 'https:');
  guard(https, 'get', 'https:');
  guard(http2, 'connect', 'h2');
  return () => {
    for (const u of undo) u();
  };
}
