import type { Command } from 'commander';
import { CLIENTS, clientById } from '../../../clients/index.js';
import type { Launch, Platform } from '../../../clients/types.js';
import { SphyrConfigError } from '../../errors.js';
import type { CliIo } from '../io.js';
import { guardInit, type InitOptions } from './guard-init.js';
import { backupNote, collect, host, PLATFORMS, redact } from './guard-shared.js';

/** `sphyr guard …`: configure sphyr-mcp in the IDEs on this machine. */
export function registerGuard(program: Command, io: CliIo, setExit: (code: number) => void): void {
  const guard = program.command('guard').description('configure sphyr-mcp in your IDEs and agents');

  guard
    .command('init')
    .description('add sphyr-mcp to every detected IDE (shows the edits as a diff first)')
    .option('--client <id...>', `only these clients (${CLIENTS.map((c) => c.id).join(', ')})`, collect)
    .option('--dry-run', 'show the diff and change nothing')
    .option('-y, --yes', 'apply without asking')
    .option('--project <dir>', "edit the project's config files under <dir> instead of your user files")
    .option('--npx', 'write `npx -y -p @sphyr/sdk sphyr-mcp` instead of node by absolute path')
    .option(
      '--embed-credential',
      'write SPHYR_CREDENTIAL into the IDE files (default: sphyr-mcp reads ~/.sphyr/config.json)',
    )
    .option('--wrap-existing', 'run your other stdio MCP servers through sphyr-mcp too')
    .action((opts: InitOptions) => guardInit(io, opts, setExit));

  guard
    .command('remove')
    .description('undo exactly what guard init did: our entry removed, wrapped servers restored')
    .option('--client <id...>', 'only these clients', collect)
    .option('--project <dir>', "the project's config files under <dir>")
    .option('--dry-run', 'show the diff and change nothing')
    // remove never asks (it only undoes what init did); --yes is accepted so scripts can pass it everywhere.
    .option('-y, --yes', 'apply without asking (remove never asks)')
    .action(async (opts: { client?: string[]; project?: string; dryRun?: boolean; yes?: boolean }) => {
      const h = await host(io);
      const { planRemoveAll, applyPlans } = await import('../../guard/run.js');
      const { changed } = await import('../../guard/plan.js');
      const { unifiedDiff } = await import('../../guard/unified-diff.js');
      const plans = await planRemoveAll(h, { clients: opts.client ?? [], project: opts.project });
      const failed = plans.filter((p) => p.error);
      for (const p of failed)
        io.err(`✗ ${p.target.client.displayName}: ${p.error?.message} — left untouched`);
      const todo = plans.filter(changed);
      for (const p of todo) {
        io.out(
          redact(
            unifiedDiff(p.target.file, p.snap.raw ?? '', p.deleteFile ? '' : (p.after ?? ''), [
              '(current)',
              p.deleteFile ? '(deleted)' : '(after guard remove)',
            ]),
          ),
        );
      }
      if (todo.length === 0) io.err('Nothing to remove: no IDE file has a sphyr entry.');
      if (opts.dryRun || todo.length === 0) {
        setExit(failed.length ? 1 : 0);
        return;
      }
      const results = await applyPlans(h, todo, 'remove');
      for (const r of results) {
        const { snap, target } = r.plan;
        if (r.error) io.err(`✗ ${target.client.displayName}: ${r.error.message}`);
        else if (r.plan.deleteFile && snap.linked)
          io.err(
            `✓ ${target.client.displayName}: deleted ${snap.file}, which init created; the symbolic link ${target.file} stays`,
          );
        else
          io.err(
            `✓ ${target.client.displayName}: ${r.plan.deleteFile ? 'deleted' : 'restored'} ${target.file}${backupNote(r)}`,
          );
      }
      setExit(failed.length || results.some((r) => r.error) ? 1 : 0);
    });

  guard
    .command('status')
    .description('per client: detected, configured, up to date, file')
    .option('--client <id...>', 'only these clients', collect)
    .option('--project <dir>', "the project's config files under <dir>")
    .option('--json', 'one JSON array on stdout')
    .action(async (opts: { client?: string[]; project?: string; json?: boolean }) => {
      const h = await host(io);
      const { sphyrLaunch } = await import('../../guard/launch.js');
      const { status } = await import('../../guard/run.js');
      const launches = [
        sphyrLaunch({ platform: h.platform }),
        sphyrLaunch({ platform: h.platform, npx: true }),
      ];
      const rows = await status(h, { clients: opts.client ?? [], project: opts.project }, launches);
      if (opts.json) {
        io.out(JSON.stringify(rows, null, 2));
        return;
      }
      for (const row of rows) {
        if (!row.detected && row.files.length === 0) {
          io.out(`${row.displayName.padEnd(20)} not detected`);
          continue;
        }
        if (row.files.length === 0) io.out(`${row.displayName.padEnd(20)} detected, no config file yet`);
        for (const f of row.files) {
          const state = f.problem
            ? `unreadable: ${f.problem}`
            : !f.configured
              ? 'not configured'
              : f.upToDate
                ? 'configured, up to date'
                : 'configured, out of date (run sphyr guard init)';
          io.out(`${row.displayName.padEnd(20)} ${state.padEnd(30)} ${f.file}`);
        }
      }
    });

  guard
    .command('print')
    .description('the manual config snippet for one client')
    .requiredOption('--client <id>', 'the client')
    .option('--platform <platform>', `darwin, win32 or linux (default: this machine's)`)
    .action(async (opts: { client: string; platform?: string }) => {
      const client = clientById(opts.client);
      if (!client) {
        throw new SphyrConfigError(
          'unknown_client',
          `unknown client "${opts.client}"; known: ${CLIENTS.map((c) => c.id).join(', ')}`,
        );
      }
      const h = await host(io);
      const platform = (opts.platform ?? h.platform) as Platform;
      if (!PLATFORMS.includes(platform)) {
        throw new SphyrConfigError('bad_platform', `--platform must be one of ${PLATFORMS.join(', ')}`);
      }
      const { sphyrLaunch } = await import('../../guard/launch.js');
      const { editorFor } = await import('../../guard/editors.js');
      const launch = sphyrLaunch({ platform, npx: true, env: { SPHYR_CREDENTIAL: 'your-credential' } });
      const placeholderHome = platform === 'win32' ? '%USERPROFILE%' : '~';
      const env = platform === 'win32' ? { APPDATA: '%APPDATA%', LOCALAPPDATA: '%LOCALAPPDATA%' } : {};
      const paths = client
        .configPaths({ platform, env, home: placeholderHome })
        .map((l) => `${l.path} (${l.label})`);
      io.err(`Edit ${paths.join(' or ')} and add:`);
      const eol = { eol: '\n' as const, indent: '  ' };
      io.out(
        (await editorFor(client)).set('', client.serversKey, 'sphyr', client.buildEntry(launch), eol).text,
      );
      io.err(`Then ${client.reload}.`);
    });

  guard
    .command('doctor')
    .description('start each configured sphyr-mcp as its client would and check the MCP handshake')
    .option('--client <id...>', 'only these clients', collect)
    .option('--project <dir>', "the project's config files under <dir>")
    .action(async (opts: { client?: string[]; project?: string }) => {
      const h = await host(io);
      const { findTargets } = await import('../../guard/run.js');
      const { readConfig } = await import('../../guard/editors.js');
      const { snapshot } = await import('../../guard/safe-write.js');
      const { clientEnv, handshake } = await import('../../guard/doctor.js');
      const targets = await findTargets(h, { clients: opts.client ?? [], project: opts.project });
      let checked = 0;
      let failures = 0;
      for (const t of targets) {
        let entry: unknown;
        try {
          const snap = await snapshot(t.local);
          if (snap.raw === undefined) continue;
          let node: unknown = (await readConfig(t.client, snap.raw)).doc;
          for (const k of t.client.serversKey) node = (node as Record<string, unknown> | undefined)?.[k];
          entry = (node as Record<string, unknown> | undefined)?.sphyr;
        } catch (error) {
          failures += 1;
          io.err(`✗ ${t.client.displayName} (${t.file}): ${(error as Error).message}`);
          continue;
        }
        if (entry === undefined) continue;
        checked += 1;
        const launch: Launch | undefined = t.client.readEntry(entry);
        if (!launch) {
          failures += 1;
          io.err(
            `✗ ${t.client.displayName} (${t.file}): the sphyr entry is not a stdio command; run sphyr guard init`,
          );
          continue;
        }
        // Exactly the environment this client would give it (its own rule), the entry's env on top.
        const inherited = t.client.inheritedEnv(h.platform, io.env, entry);
        const result = await handshake({
          ...launch,
          env: clientEnv(Object.keys(inherited), inherited, launch.env),
        });
        if (result.ok) {
          io.out(
            `✓ ${t.client.displayName}: ${result.serverName ?? 'server'} ${result.serverVersion ?? ''} answered, tools: ${result.tools?.join(', ')} (${Math.round(result.ms)} ms) — ${t.file}`,
          );
        } else {
          failures += 1;
          io.out(`✗ ${t.client.displayName}: ${result.reason} — ${t.file}`);
          if (result.stderrTail) io.err(result.stderrTail);
        }
      }
      if (checked === 0 && failures === 0)
        io.err('No client is configured with sphyr yet: run `sphyr guard init`.');
      setExit(failures ? 1 : 0);
    });
}
