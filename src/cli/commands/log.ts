import type { Command } from 'commander';
import { defaultDataDir } from '../../config/paths.js';
import type { SqliteStore } from '../../gateway/store/sqlite-store.js';
import type { LogRecord } from '../../gateway/store/types.js';
import { EXIT } from '../exit-codes.js';
import { loadGatewayPackage } from '../gateway-package.js';
import type { CliIo } from '../io.js';
import { parseCount } from './options.js';

/** Opened as found: a log from an older version is reported, not adopted (the gateway does that). */
async function openStore(io: CliIo, dataDir: string): Promise<SqliteStore> {
  const { SqliteStore } = await loadGatewayPackage();
  return SqliteStore.open(dataDir, { warn: (m) => io.err(`sphyr: ${m}`) });
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
      const store = await openStore(io, opts.dataDir ?? (await defaultDataDir(io.env)));
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
    .description(
      'check the log: detects edited, deleted or reordered records and a forged head or purge anchor',
    )
    .option('--json', 'the result as JSON on stdout')
    .option('--data-dir <dir>', "the gateway's data dir")
    .action(async (opts: { json?: boolean; dataDir?: string }) => {
      const store = await openStore(io, opts.dataDir ?? (await defaultDataDir(io.env)));
      try {
        const result = await store.verify();
        if (opts.json) io.out(JSON.stringify(result));
        if (result.ok) {
          const span = result.lastSeq ? ` (seq ${result.firstSeq}–${result.lastSeq})` : '';
          const purged =
            result.purgedThrough === 0
              ? ''
              : `; ${result.purgedThrough === 1 ? 'record 1 was' : `records 1–${result.purgedThrough} were`} purged by retention`;
          io.err(`log verified: ${result.checked} records intact${span}${purged}`);
        } else {
          const [first, ...rest] = result.problems;
          const at = first?.seq === null || first?.seq === undefined ? '' : ` at record ${first.seq}`;
          io.err(`log verification FAILED${at}: ${first?.message}`);
          for (const p of rest) io.err(`  also: ${p.message}`);
          setExit(EXIT.verifyFailed);
        }
        for (const note of result.notes) io.err(`note: ${note}`);
      } finally {
        await store.close();
      }
    });
}
