import type { Command } from 'commander';
import { defaultDataDir } from '../../config/paths.js';
import type { CliIo } from '../io.js';
import { parsePort } from './options.js';

interface StartOptions {
  host: string;
  port: number;
  dataDir?: string;
  policy?: string;
}

/** `sphyr gateway start`: runs until SIGTERM/SIGINT, then drains requests and flushes the log. */
export function registerGateway(program: Command, io: CliIo, wait: (p: Promise<void>) => void): void {
  const gateway = program.command('gateway').description('run the self-hosted gateway');
  gateway
    .command('start')
    .description('start the gateway (embedded SQLite log; nothing else to install)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', parsePort, 7470)
    .option('--data-dir <dir>', 'where the log and keys live (default: SPHYR_DATA_DIR or the OS data dir)')
    .option('--policy <file>', 'policy file (JSON or JSONC)')
    .action(async (opts: StartOptions) => {
      // Loaded here, not at start-up, so other commands stay quick.
      // Signals are caught before anything starts: an early SIGTERM must still end cleanly.
      let signalled: string | undefined;
      let onSignal = (signal: string) => {
        signalled = signal;
      };
      const handler = (signal: NodeJS.Signals) => onSignal(signal);
      process.once('SIGTERM', handler);
      process.once('SIGINT', handler);
      const { startGateway } = await import('../../gateway/server.js');
      const { DEFAULT_POLICY, loadPolicyFile } = await import('../../policy/index.js');
      try {
        const policy = opts.policy ? await loadPolicyFile(opts.policy) : DEFAULT_POLICY;
        const dataDir = opts.dataDir ?? (await defaultDataDir(io.env));
        const running = await startGateway({
          host: opts.host,
          port: opts.port,
          dataDir,
          policy,
          warn: (m) => io.err(`sphyr gateway: ${m}`),
        });
        const stopped = new Promise<void>((resolve) => {
          onSignal = (signal: string) => {
            io.err(`sphyr gateway: ${signal}: finishing in-flight requests…`);
            running.close().then(() => {
              io.err('sphyr gateway: stopped; log flushed');
              resolve();
            });
          };
        });
        if (signalled) onSignal(signalled);
        io.err(`sphyr gateway listening on ${running.url} (data dir ${dataDir}, policy mode ${policy.mode})`);
        io.out(running.url);
        wait(stopped);
      } catch (error) {
        process.off('SIGTERM', handler);
        process.off('SIGINT', handler);
        throw error;
      }
    });
}
