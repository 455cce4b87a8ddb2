/**
 * @module What a worker thread started through the guarded `Worker` (`workers.ts`) runs first:
 * `autoInstrument()` with the settings of the thread that started it, then the worker's own code,
 * as Node would have run it (a file as the main module, eval code as a script, a data: URL as a
 * module). Loaded with `require()` from a one-line eval bootstrap, so it runs before anything else.
 */
import Module from 'node:module';
import { constants, runInThisContext } from 'node:vm';
import { autoInstrument } from './auto-instrument.js';
import { inheritedSettings, optionsFrom, type WorkerEntry } from './workers.js';

export function run(entry: WorkerEntry): void {
  // As Node starts a file worker: argv[1] is the file (also where its axios is looked for).
  if (entry.kind === 'file') process.argv[1] = entry.path;
  const settings = inheritedSettings();
  autoInstrument(settings ? optionsFrom(settings) : {});
  switch (entry.kind) {
    case 'eval':
      runInThisContext(entry.code, {
        filename: '[worker eval]',
        importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER as never,
      });
      return;
    case 'file':
      // The file is the worker's main module.
      (Module as unknown as { runMain(main: string): void }).runMain(entry.path);
      return;
    case 'module':
      import(entry.url).catch((error: unknown) =>
        process.nextTick(() => {
          throw error;
        }),
      );
      return;
  }
}
