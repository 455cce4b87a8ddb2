/**
 * @module The net below axios. Every axios copy is patched where it loads (`axios-copies.ts`), but
 * some cannot be: an ES-module copy loaded before `autoInstrument()` ran without the loader hook
 * (`--import @sphyr/sdk/register`), a copy too old to patch, and a copy bundled into another file
 * (a vendor SDK's minified bundle), which no module hook sees. Their requests still go through Node's
 * http, https or http2, so this guard knows axios there by two signs: its http adapter on the stack
 * (`dispatchHttpRequest`), and, since a minifier renames functions, the `User-Agent: axios/<version>`
 * axios sends by default. It refuses the request, naming the copy (failing open: lets it go direct,
 * with a warning naming it). Never silently direct. Routes that are direct by design and Sphyr's own
 * sends pass untouched.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
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

/** An axios copy no hook reached: where it is, why, and what to do. */
interface Unpatched {
  copy: string;
  why: string;
  fix: string;
}

const LOADED_EARLY: Omit<Unpatched, 'copy'> = {
  why: 'it was loaded as an ES module before autoInstrument() ran, without the loader hook, or it is older than axios 1.6.7',
  fix: 'Start node with --import @sphyr/sdk/register, or call autoInstrument() before the module that imports axios is loaded.',
};

const BUNDLED: Omit<Unpatched, 'copy'> = {
  why: 'it is bundled into that file, where no module hook can reach it (known by its User-Agent)',
  fix: "Make the bundle require('axios') as a package (mark axios external), or send its requests with fetch.",
};

/** axios's default User-Agent (`axios/1.21.1`): it survives minification. */
const AXIOS_AGENT = /^axios\/\d+\.\d+/;

/** The User-Agent an http.request call sets, from its options (record or raw array headers). */
function userAgentOf(args: unknown[]): string | undefined {
  for (const arg of args.slice(0, 2)) {
    if (!arg || typeof arg !== 'object' || arg instanceof URL) continue;
    const headers = (arg as { headers?: unknown }).headers;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2)
        if (String(headers[i]).toLowerCase() === 'user-agent') return String(headers[i + 1]);
    } else if (headers && typeof headers === 'object') {
      for (const [name, value] of Object.entries(headers))
        if (name.toLowerCase() === 'user-agent') return String(Array.isArray(value) ? value[0] : value);
    }
  }
  return undefined;
}

const HERE = fileURLToPath(import.meta.url);
/**
 * Sphyr's own code (dist/src, or src under test): a request made there (the gateway relaying in the
 * same process, `wrapHttp` sending direct) is Sphyr's, whatever User-Agent it forwards. Bundled
 * into one file with the application, only that file's guard frames can be told apart.
 */
const OWN =
  path.basename(path.dirname(HERE)) === 'sdk' ? path.resolve(path.dirname(HERE), '..') + path.sep : HERE;

/** The file that called http.request: the first frame below this guard that is not Node's own. */
function callerFile(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  for (const line of stack.split('\n').slice(1)) {
    const file = /\(?((?:file:\/\/)?[^\s()]+?):\d+:\d+\)?\s*$/.exec(line)?.[1];
    if (!file || !/^(?:file:|\/|[A-Za-z]:\\)/.test(file)) continue; // node:internal, native frames
    let filePath = file;
    try {
      if (file.startsWith('file:')) filePath = fileURLToPath(file);
    } catch {
      continue;
    }
    if (filePath !== HERE) return filePath;
  }
  return undefined;
}

/** The axios copy behind this request, if it is one no hook reached. */
function unpatchedAxios(args: unknown[]): Unpatched | undefined {
  const onStack = axiosOnStack();
  if (onStack) return { copy: onStack, ...LOADED_EARLY };
  const agent = userAgentOf(args);
  if (!agent || !AXIOS_AGENT.test(agent)) return undefined;
  const caller = callerFile();
  if (caller?.startsWith(OWN)) return undefined; // Sphyr's own send (e.g. a gateway in this process)
  return { copy: `${agent.split(/\s/)[0]} in ${caller ?? '(an unknown file)'}`, ...BUNDLED };
}

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
    const found = unpatchedAxios(args);
    if (!found) return;
    const { copy, why, fix } = found;
    const closed = state.settings.failClosed;
    if (!reported.has(copy)) {
      reported.add(copy);
      state.settings.warn(
        closed
          ? `axios at ${copy} is not instrumented (${why}); its requests are refused. ${fix}`
          : `axios at ${copy} is not instrumented (${why}); its requests are going DIRECT, unscreened and unlogged, because failClosed is false. ${fix}`,
      );
    }
    if (closed) {
      throw new SphyrConfigError(
        'axios_not_instrumented',
        `axios at ${copy} is not instrumented (${why}), so its request to ${target.origin} was refused and nothing was sent. ${fix}`,
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
