import type { Command } from 'commander';
import { CLIENTS, clientById } from '../../../clients/index.js';
import type { Platform } from '../../../clients/types.js';
import { SphyrConfigError } from '../../errors.js';
import type { CliIo } from '../io.js';
import { type DoctorOptions, guardDoctor } from './guard-doctor.js';
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
    .option(
      '--project <dir>',
      "edit the project's config files under <dir> (shared: the npx form, no path of this machine) instead of your user files",
    )
    .option('--npx', 'write `npx -y -p @sphyr/sdk sphyr-mcp` instead of node by absolute path')
    .option(
      '--embed-credential',
      'write SPHYR_CREDENTIAL into the IDE files (default: sphyr-mcp reads ~/.sphyr/config.json)',
    )
    .option('--wrap-existing', 'run your other stdio MCP servers through sphyr-mcp too')
    .option('--force', 'replace a sphyr entry that guard did not write (default: keep it and say so)')
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
      for (const p of plans.filter((x) => x.kept)) {
        io.err(
          `warning: ${p.target.client.displayName}: ${p.target.file} has a sphyr entry that guard did not write (no record of it in guard-state.json), ${p.kept}; left it as it is, delete it by hand if you want it gone`,
        );
      }
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
      if (todo.length === 0 && !plans.some((p) => p.kept))
        io.err('Nothing to remove: no IDE file has a sphyr entry.');
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
      const { ourLaunches } = await import('../../guard/launch.js');
      const { status } = await import('../../guard/run.js');
      const launches = ourLaunches(h.platform);
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
    .description(
      'start each configured sphyr-mcp as its client would: the MCP handshake, and a check_url call that reaches the gateway with the credential',
    )
    .option('--client <id...>', 'only these clients', collect)
    .option('--project <dir>', "the project's config files under <dir>")
    .action((opts: DoctorOptions) => guardDoctor(io, opts, setExit));
}
