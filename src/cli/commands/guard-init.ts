/** @module `sphyr guard init`: plan, show the diff, ask, write; then say what will not work yet. */

import type { ClientAdapter, Launch } from '../../../clients/types.js';
import { SphyrConfigError } from '../../errors.js';
import type { GuardHost } from '../../guard/platform.js';
import type { CredentialSetup } from '../../guard/reach.js';
import type { CliIo } from '../io.js';
import { backupNote, confirm, host, redact } from './guard-shared.js';

export interface InitOptions {
  client?: string[];
  dryRun?: boolean;
  yes?: boolean;
  project?: string;
  npx?: boolean;
  embedCredential?: boolean;
  wrapExisting?: boolean;
  force?: boolean;
}

const SPHYR_VARS = ['SPHYR_CREDENTIAL', 'SPHYR_GATEWAY_URL'];

/** The entry's env for --embed-credential: the credential and gateway URL in use now. */
async function embeddedEnv(io: CliIo): Promise<Record<string, string>> {
  const { readClientSettings } = await import('../../config/local-config.js');
  const settings = await readClientSettings({ home: io.home, env: io.env });
  if (!settings.credential) {
    throw new SphyrConfigError(
      'not_configured',
      '--embed-credential needs a credential: run `sphyr login` first (or set SPHYR_CREDENTIAL)',
    );
  }
  const env: Record<string, string> = { SPHYR_CREDENTIAL: settings.credential.reveal() };
  if (settings.gatewayUrl) env.SPHYR_GATEWAY_URL = settings.gatewayUrl;
  return env;
}

/**
 * The `warning:` lines: nothing to authenticate with at all, a broken ~/.sphyr/config.json, or a
 * client that would not pass a shell-exported credential on to sphyr-mcp (its own env rule).
 */
async function credentialWarnings(
  io: CliIo,
  h: GuardHost,
  setup: CredentialSetup,
  clients: ClientAdapter[],
  launch: Launch,
): Promise<string[]> {
  const { clientMisses, missingEverywhere } = await import('../../guard/reach.js');
  const out: string[] = [];
  if (setup.problem) out.push(`${setup.problem}; sphyr-mcp cannot use it either`);
  const missing = missingEverywhere(setup);
  if (missing) return [...out, missing];
  for (const client of clients) {
    const why = clientMisses(client, h.platform, setup, io.env, client.buildEntry(launch));
    if (why) out.push(why);
  }
  return out;
}

export async function guardInit(
  io: CliIo,
  opts: InitOptions,
  setExit: (code: number) => void,
): Promise<void> {
  const h = await host(io);
  const { inNpxCache, installedScript, sphyrLaunch } = await import('../../guard/launch.js');
  const { planInitAll, applyPlans } = await import('../../guard/run.js');
  const { changed } = await import('../../guard/plan.js');
  const { unifiedDiff } = await import('../../guard/unified-diff.js');
  const { credentialSetup } = await import('../../guard/reach.js');
  const embedded = Boolean(opts.embedCredential);
  if (embedded && opts.project) {
    throw new SphyrConfigError(
      'project_secret',
      '--embed-credential cannot go with --project: project files are meant to be checked in, and a credential must never be; run `sphyr login` on each machine instead',
    );
  }
  const env = embedded ? await embeddedEnv(io) : {};
  // Variables exported here that a client may need asking to pass on (Codex's env_vars).
  const forward = embedded ? [] : SPHYR_VARS.filter((name) => io.env[name]?.trim());
  // A project file is shared: no path of this machine in it, so the npx form, which runs anywhere.
  let npx = Boolean(opts.npx || opts.project);
  if (!npx && inNpxCache(installedScript())) {
    // `npx @sphyr/cli guard init`: a path into npx's cache would break when that cache is cleaned.
    npx = true;
    io.err(
      'sphyr guard: running from npx, so entries start sphyr-mcp with `npx -y -p @sphyr/sdk sphyr-mcp` ' +
        '(install @sphyr/cli and @sphyr/sdk to have them run node on the installed file instead)',
    );
  }
  const launch = sphyrLaunch({ platform: h.platform, npx, env, forward });
  const plans = await planInitAll(
    h,
    { clients: opts.client ?? [], project: opts.project },
    launch,
    Boolean(opts.wrapExisting),
    { force: Boolean(opts.force) },
  );
  if (plans.length === 0) {
    io.err(
      'No supported IDE or agent found. Name one with --client (e.g. --client cursor), or see `sphyr guard print`.',
    );
    setExit(1);
    return;
  }
  const setup = await credentialSetup({ home: io.home, env: io.env }, embedded);
  const clients = [...new Set(plans.filter((p) => !p.error).map((p) => p.target.client))];
  const warn = async () => {
    for (const p of plans.filter((x) => x.kept)) {
      io.err(
        `warning: ${p.target.client.displayName}: ${p.target.file} has a sphyr entry that guard did not write, ${p.kept}; kept it as it is. \`sphyr guard init --force\` replaces it: you would lose that entry from the file (the backup init makes then keeps a copy)`,
      );
    }
    for (const line of await credentialWarnings(io, h, setup, clients, launch)) io.err(`warning: ${line}`);
  };

  const failed = plans.filter((p) => p.error);
  for (const p of failed) io.err(`✗ ${p.target.client.displayName}: ${p.error?.message} — left untouched`);
  const todo = plans.filter(changed);
  for (const p of plans.filter((x) => !x.error && !x.kept && !changed(x))) {
    io.err(`✓ ${p.target.client.displayName}: ${p.target.file} already has sphyr`);
  }
  for (const p of todo) {
    io.out(
      redact(
        unifiedDiff(p.target.file, p.snap.raw ?? '', p.after ?? '', [
          p.snap.raw === undefined ? '(new file)' : '(current)',
          '(after guard init)',
        ]),
      ),
    );
  }
  if (todo.length === 0 || opts.dryRun) {
    if (opts.dryRun && todo.length)
      io.err(`Dry run: ${todo.length} file(s) would change; nothing was written.`);
    await warn();
    setExit(failed.length ? 1 : 0);
    return;
  }
  if (!opts.yes && !(await confirm(io, `Apply these changes to ${todo.length} file(s)? [y/N] `))) {
    io.err('Nothing was changed.');
    setExit(1);
    return;
  }
  const results = await applyPlans(h, todo, 'init', { secretInEntry: embedded });
  let errors = failed.length;
  for (const r of results) {
    const { client, file } = r.plan.target;
    if (r.error) {
      errors += 1;
      io.err(`✗ ${client.displayName}: ${r.error.message}`);
      continue;
    }
    const wrapped = r.plan.changes.filter((c) => c.kind === 'wrapped').map((c) => c.name);
    const via = r.plan.snap.linked ? ` (through the symbolic link, at ${r.plan.snap.file})` : '';
    io.err(`✓ ${client.displayName}: wrote ${file}${via}${backupNote(r)}`);
    if (r.plan.replaced)
      io.err(
        `  replaced a sphyr entry guard did not write (--force), ${r.plan.replaced}; the backup has it, and \`sphyr guard remove\` puts back what was there before guard first wrote it`,
      );
    if (wrapped.length)
      io.err(`  now running through sphyr-mcp: ${wrapped.join(', ')} (undo with \`sphyr guard remove\`)`);
    io.err(`  to load it: ${(opts.project && client.projectReload) || client.reload}`);
  }
  await warn();
  setExit(errors ? 1 : 0);
}
