import type { Command } from 'commander';
import { defaultDataDir } from '../../config/paths.js';
import { DEFAULT_HOST, DEFAULT_PORT, startGateway } from '../../gateway/server.js';
import { DEFAULT_POLICY, loadPolicyFile } from '../../policy/index.js';
import type { CliIo } from '../io.js';
import { parsePort } from './options.js';

interface StartOptions {
  host: string;
  port: string;
  dataDir?: string;
  policy?: string;
}

/** `sphyr gateway start`: runs until SIGTERM/SIGINT, then drains requests and flushes the log. */
export function registerGateway(program: Command, io: CliIo, wait: (p: Promise<void>) => void): void {
  const gateway = program.command('gateway').description('run the self-hosted gateway');
  gateway
    .command('start')
    .description('start the gateway (embedded SQLite log; nothing else to install)')
    .option('--host <host>', 'address to listen on', DEFAULT_HOST)
    .option('--port <port>', 'port to listen on (0 picks a free one)', String(DEFAULT_PORT))
    .option('--data-dir <dir>', 'where the log and keys live (default: SPHYR_DATA_DIR or the OS data dir)')
    .option('--policy <file>', 'policy file (JSON or JSONC)')
    .action(async (opts: StartOptions) => {
      const policy = opts.policy ? await loadPolicyFile(opts.policy) : DEFAULT_POLICY;
      const dataDir = opts.dataDir ?? defaultDataDir(io.env);
      const running = await startGateway({
        host: opts.host,
        port: parsePort(opts.port),
        dataDir,
        policy,
        warn: (m) => io.err(`sphyr gateway: ${m}`),
      });
      io.err(`sphyr gateway listening on ${running.url} (data dir ${dataDir}, policy mode ${policy.mode})`);
      io.out(running.url);
      wait(
        new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            io.err(`sphyr gateway: ${signal}: finishing in-flight requests…`);
            running.close().then(() => {
              io.err('sphyr gateway: stopped; log flushed');
              resolve();
            });
          };
          process.once('SIGTERM', () => stop('SIGTERM'));
          process.once('SIGINT', () => stop('SIGINT'));
        }),
      );
    });
}
