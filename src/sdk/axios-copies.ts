/**
 * @module Every axios copy the process loads, wherever it lives and whenever it loads: a vendor SDK's
 * own `node_modules/axios`, a workspace package's, the CommonJS and the ESM build. Found the way
 * OpenTelemetry finds libraries: require-in-the-middle for `require`, import-in-the-middle's loader
 * hook for `import`, plus the copies already loaded (the require cache, and the application's own
 * copies resolved from its folders). What none of these reach is refused by the guard below axios.
 */
import { createRequire, register } from 'node:module';
import path from 'node:path';
import { Hook as IitmHook } from 'import-in-the-middle';
import { Hook as RitmHook } from 'require-in-the-middle';
import { type AxiosLike, patchAxios } from './axios.js';
import { guardBelowAxios } from './axios-guard.js';
import type { SdkState } from './state.js';

const requireHere = createRequire(import.meta.url);

/** Set once the ESM loader hook is registered in this process (a loader cannot be unregistered). */
const ESM_HOOK = Symbol.for('sphyr.esm-hook');

/** An axios build's exports (CommonJS `module.exports`, or an ES module namespace) → the axios object. */
function axiosOf(exports: unknown): AxiosLike | undefined {
  // An ES module namespace holds the axios object as `default` (its named exports lack getUri).
  const mod = exports as { default?: AxiosLike } | undefined;
  for (const ax of [mod?.default, mod as AxiosLike | undefined]) {
    if (typeof ax?.Axios?.prototype === 'object' && typeof ax.getUri === 'function') return ax;
  }
  return undefined;
}

/**
 * Register import-in-the-middle's loader hook for `axios`, once per process: every ES module import
 * of axios from then on, from any folder, is handed to our hook. `--import @sphyr/sdk/register` does
 * this before the application's first import; `autoInstrument()` alone does it for later imports.
 */
export function registerEsmHook(): void {
  const slots = globalThis as unknown as Record<symbol, unknown>;
  if (slots[ESM_HOOK]) return;
  slots[ESM_HOOK] = true;
  // A URL of our own, so an application's own import-in-the-middle setup keeps its include list.
  const hook = new URL(`${requireHere.resolve('import-in-the-middle/hook.mjs')}?sphyr`, 'file://').href;
  register(hook, import.meta.url, { data: { include: ['axios'] } });
}

/** The axios copies the application itself resolves (both builds), from these folders. */
function resolvableCopies(roots: readonly string[]): Array<{ exports: unknown; where: string }> {
  const found: Array<{ exports: unknown; where: string }> = [];
  for (const root of roots) {
    const req = createRequire(path.join(path.resolve(root), 'noop.js'));
    let dir: string;
    try {
      dir = path.dirname(req.resolve('axios/package.json'));
    } catch {
      continue;
    }
    for (const load of [() => req('axios'), () => req(path.join(dir, 'index.js'))]) {
      try {
        found.push({ exports: load(), where: dir });
      } catch {
        // Not loadable from here (a broken install): the guard below axios still stands.
      }
    }
  }
  return found;
}

/** The axios builds already in the require cache, wherever they were loaded from. */
function cachedCopies(): Array<{ exports: unknown; where: string }> {
  const found: Array<{ exports: unknown; where: string }> = [];
  for (const [file, mod] of Object.entries(requireHere.cache)) {
    const dir = /^(.*[\\/]node_modules[\\/]axios)[\\/]/.exec(file)?.[1];
    if (dir && mod?.loaded) found.push({ exports: mod.exports, where: dir });
  }
  return found;
}

/**
 * Instrument every axios copy of this process, now and as they load, and guard below axios for the
 * rest. Returns the undo: hooks removed, copies unpatched, guard lifted.
 */
export function instrumentAxiosCopies(state: SdkState, roots: readonly string[]): () => void {
  const unpatch = new Map<object, () => void>();
  const reported = new Set<string>();
  const instrument = (exports: unknown, where: string | undefined): void => {
    const ax = axiosOf(exports);
    if (!ax || unpatch.has(ax.Axios.prototype)) return;
    if (typeof ax.Axios.prototype._request !== 'function') {
      // axios < 1.6.7: nothing to patch. Say so now; the guard refuses its requests.
      if (!reported.has(`${where}`)) {
        reported.add(`${where}`);
        state.settings.warn(
          `axios at ${where ?? '(unknown folder)'} is older than 1.6.7 and cannot be instrumented`,
        );
      }
      return;
    }
    unpatch.set(ax.Axios.prototype, patchAxios(ax, state));
  };
  for (const copy of [...cachedCopies(), ...resolvableCopies(roots)]) instrument(copy.exports, copy.where);
  const onRequire = new RitmHook(['axios'], (exports, _name, basedir) => {
    instrument(exports, basedir);
    return exports;
  });
  registerEsmHook();
  const onImport = new IitmHook(['axios'], (namespace, _name, baseDir) => {
    instrument(namespace, baseDir || undefined);
  });
  const unguard = guardBelowAxios(state);
  return () => {
    onRequire.unhook();
    onImport.unhook();
    unguard();
    for (const undo of unpatch.values()) undo();
  };
}
