import type { Command } from 'commander';
import { defaultDataDir } from '../../config/paths.js';
import { SphyrConfigError } from '../../errors.js';
import { parseCidr } from '../../policy/address.js';
import { loadGatewayPackage } from '../gateway-package.js';
import type { CliIo } from '../io.js';
import { parseCount, parsePort } from './options.js';

function parseTrustProxy(text: string): string[] {
  const ranges = text
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  for (const range of ranges) {
    try {
      parseCidr(range);
    } catch (error) {
      throw new SphyrConfigError('bad_trust_proxy', `--trust-proxy: ${(error as Error).message}`);
    }
  }
  return ranges;
}

function parsePublicUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SphyrConfigError(
      'bad_public_url',
      `--public-url ${text} is not a URL; give e.g. https://sphyr.example.com`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SphyrConfigError('bad_public_url', '--public-url must be an http or https URL');
  }
  return url.origin;
}

interface StartOptions {
  host: string;
  port: number;
  dataDir?: string;
  policy?: string;
  publicUrl?: string;
  trustProxy?: string;
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  clientHeadersTimeout?: number;
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
    .option(
      '--public-url <url>',
      'the URL people and clients use to reach the gateway, e.g. https://sphyr.example.com behind a TLS proxy',
    )
    .option(
      '--trust-proxy <cidrs>',
      'comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client (e.g. 127.0.0.1/32)',
    )
    .option('--max-connections <n>', 'open connections at most, over all clients (default 2048)', parseCount)
    .option(
      '--max-connections-per-address <n>',
      'open connections at most from one client address (default 256; trusted proxies are exempt)',
      parseCount,
    )
    .option(
      '--client-headers-timeout <seconds>',
      'close a connection whose request headers take longer than this (default 30)',
      parseCount,
    )
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
      const { startGateway, DEFAULT_POLICY, loadPolicyFile } = await loadGatewayPackage();
      try {
        const policy = opts.policy ? await loadPolicyFile(opts.policy) : DEFAULT_POLICY;
        const dataDir = opts.dataDir ?? (await defaultDataDir(io.env));
        const running = await startGateway({
          host: opts.host,
          port: opts.port,
          dataDir,
          policy,
          warn: (m) => io.err(`sphyr gateway: ${m}`),
          ...(opts.publicUrl ? { publicUrl: parsePublicUrl(opts.publicUrl) } : {}),
          ...(opts.trustProxy ? { trustProxy: parseTrustProxy(opts.trustProxy) } : {}),
          limits: {
            ...(opts.maxConnections ? { maxConnections: opts.maxConnections } : {}),
            ...(opts.maxConnectionsPerAddress
              ? { maxConnectionsPerAddress: opts.maxConnectionsPerAddress }
              : {}),
            ...(opts.clientHeadersTimeout
              ? { clientHeadersTimeoutMs: opts.clientHeadersTimeout * 1000 }
              : {}),
          },
          ...(io.env.SPHYR_ADMIN_PASSWORD ? { adminPassword: io.env.SPHYR_ADMIN_PASSWORD } : {}),
        });
        if (running.initialAdmin) {
          // Shown once, on the operator's terminal only: it is stored as a hash.
          io.err(
            `sphyr gateway: created the console account "${running.initialAdmin.username}" with password ${running.initialAdmin.password}\n` +
              'sphyr gateway: it is shown only now; sign in at /console/login (set SPHYR_ADMIN_PASSWORD to choose it yourself)',
          );
        }
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
        io.err(`sphyr gateway: accepts signed requests for ${running.authorities.join(', ')}`);
        io.out(running.url);
        wait(stopped);
      } catch (error) {
        process.off('SIGTERM', handler);
        process.off('SIGINT', handler);
        throw error;
      }
    });
}
