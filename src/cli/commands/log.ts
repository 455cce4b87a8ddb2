import type { Command } from 'commander';
import { defaultDataDir } from '../../config/paths.js';
import type { SqliteStore } from '../../gateway/store/sqlite-store.js';
import type { LogRecord, LogSearch } from '../../gateway/store/types.js';
import { EXIT } from '../exit-codes.js';
import { loadGatewayPackage } from '../gateway-package.js';
import type { CliIo } from '../io.js';
import { parseCount } from './options.js';

/** Opened as found: a log from an older version is reported, not adopted (the gateway does that). */
async function openStore(io: CliIo, dataDir: string): Promise<SqliteStore> {
  const { SqliteStore } = await loadGatewayPackage();
  return SqliteStore.open(dataDir, { warn: (m) => io.err(`sphyr: ${m}`) });
}

interface Named extends LogRecord {
  agentName: string | null;
  agentHost: string | null;
  keyName: string | null;
}

/** The records with their agents' and keys' names (ids alone say nothing to a person). */
async function withNames(store: SqliteStore, records: LogRecord[]): Promise<Named[]> {
  const keys = new Map((await store.listKeys()).map((k) => [k.id, k.name]));
  return Promise.all(
    records.map(async (r) => {
      const agent = r.agentId === null ? undefined : await store.getAgent(r.agentId);
      return {
        ...r,
        agentName: agent?.name ?? null,
        agentHost: agent?.host ?? null,
        keyName: (r.keyId !== null && keys.get(r.keyId)) || null,
      };
    }),
  );
}

/** `"name" (id)`, the id alone when nothing names it, `-` for none. Names are quoted: they may hold spaces. */
function who(id: string | null, name: string | null): string {
  if (id === null) return '-';
  return name === null ? id : `${JSON.stringify(name)} (${id})`;
}

function line(r: Named): string {
  const time = new Date(r.ts).toISOString();
  const what = r.kind === 'tool' ? `tool ${r.tool}` : `${r.method ?? '-'} ${r.url ?? r.host ?? '-'}`;
  return `${time}  ${r.id}  ${r.kind.padEnd(7)} ${r.outcome.padEnd(12)} ${r.reason.padEnd(22)} ${String(r.status).padStart(3)}  ${what}  agent=${who(r.agentId, r.agentName)} key=${who(r.keyId, r.keyName)} entropy=${r.entropy ?? '-'} ${r.durationMs}ms`;
}

/** `sphyr log tail` and `sphyr log verify` on a gateway's data dir. */
export function registerLog(program: Command, io: CliIo, setExit: (code: number) => void): void {
  const log = program.command('log').description("read and verify the gateway's request log");
  log
    .command('tail')
    .description('print the newest records, oldest first')
    .option('-n, --lines <n>', 'how many records', parseCount, 20)
    .option(
      '--agent <name-or-id>',
      'only records of this agent (an agt_… id) or of every agent with this name',
    )
    .option('--json', 'one JSON record per line (with agentName, agentHost and keyName)')
    .option('--data-dir <dir>', "the gateway's data dir")
    .action(async (opts: { lines: number; agent?: string; json?: boolean; dataDir?: string }) => {
      const store = await openStore(io, opts.dataDir ?? (await defaultDataDir(io.env)));
      try {
        const search: LogSearch = { limit: opts.lines };
        if (opts.agent !== undefined) {
          const { AGENT_ID_TEXT } = await loadGatewayPackage();
          if (AGENT_ID_TEXT.test(opts.agent)) search.agentId = opts.agent;
          else search.agentName = opts.agent;
        }
        const records = await withNames(store, (await store.searchLog(search)).reverse());
        for (const r of records) io.out(opts.json ? JSON.stringify(r) : line(r));
        if (records.length === 0) io.err(opts.agent === undefined ? 'the log is empty' : 'no records match');
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
