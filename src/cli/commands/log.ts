import type { Command } from 'commander';
import { defaultDataDir } from '../../config/paths.js';
import type { SqliteStore } from '../../gateway/store/sqlite-store.js';
import type { LogRecord } from '../../gateway/store/types.js';
import { EXIT } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { parseCount } from './options.js';

async function openStore(dataDir: string): Promise<SqliteStore> {
  const { SqliteStore } = await import('../../gateway/store/sqlite-store.js');
  return SqliteStore.open(dataDir);
}

function line(r: LogRecord): string {
  const time = new Date(r.ts).toISOString();
  const what = r.kind === 'tool' ? `tool ${r.tool}` : `${r.method ?? '-'} ${r.url ?? r.host ?? '-'}`;
  return `${time}  ${r.id}  ${r.kind.padEnd(7)} ${r.outcome.padEnd(12)} ${r.reason.padEnd(22)} ${String(r.status).padStart(3)}  ${what}  agent=${r.agentId ?? '-'} key=${r.keyId ?? '-'} entropy=${r.entropy ?? '-'} ${r.durationMs}ms`;
}

/** `sphyr log tail` and `sphyr log verify` on a gateway's data dir. */
export function registerLog(program: Command, io: CliIo, setExit: (code: number) => void): void {
  const log = program.command('log').description("read and verify the gateway's request log");
  log
    .command('tail')
    .description('print the newest records, oldest first')
    .option('-n, --lines <n>', 'how many records', parseCount, 20)
    .option('--json', 'one JSON record per line')
    .option('--data-dir <dir>', "the gateway's data dir")
    .action(async (opts: { lines: number; json?: boolean; dataDir?: string }) => {
      const store = await openStore(opts.dataDir ?? (await defaultDataDir(io.env)));
      try {
        const records = (await store.query({ limit: opts.lines })).reverse();
        for (const r of records) io.out(opts.json ? JSON.stringify(r) : line(r));
        if (records.length === 0) io.err('the log is empty');
      } finally {
        await store.close();
      }
    });
  log
    .command('verify')
    .description('check the hash chain: detects any edited or deleted record')
    .option('--json', 'the result as JSON on stdout')
    .option('--data-dir <dir>', "the gateway's data dir")
    .action(async (opts: { json?: boolean; dataDir?: string }) => {
      const store = await openStore(opts.dataDir ?? (await defaultDataDir(io.env)));
      try {
        const result = await store.verify();
        if (opts.json) io.out(JSON.stringify(result));
        if (result.ok) {
          io.err(
            `log verified: ${result.checked} records intact${result.lastSeq ? ` (seq ${result.firstSeq}–${result.lastSeq})` : ''}`,
          );
        } else {
          io.err(`log verification FAILED at record ${result.brokenAt}: ${result.problem}`);
          setExit(EXIT.verifyFailed);
        }
      } finally {
        await store.close();
      }
    });
}
