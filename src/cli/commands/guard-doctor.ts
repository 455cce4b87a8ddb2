/**
 * @module `sphyr guard doctor`: start every sphyr-mcp a client would start (our entry and the
 * servers --wrap-existing wrapped, in every servers object of the file) exactly as that client
 * would, with its own environment rule; check the MCP handshake, then that a `check_url` call
 * reaches the gateway with the credential (nothing is sent to any target).
 */

import type { ClientAdapter, Launch } from '../../../clients/types.js';
import type { HandshakeResult } from '../../guard/doctor.js';
import type { GuardHost } from '../../guard/platform.js';
import type { CliIo } from '../io.js';
import { host } from './guard-shared.js';

export interface DoctorOptions {
  client?: string[];
  project?: string;
}

interface Check {
  client: ClientAdapter;
  file: string;
  /** `sphyr`, or where a wrapped server is: `docs`, `projects["/dir"].mcpServers.docs`. */
  label: string;
  wrapped: boolean;
  entry: unknown;
  launch: Launch;
}

/** A wrapped server's command line: sphyr-mcp, then `--` and the upstream server. */
function isWrapped(launch: Launch): boolean {
  const split = launch.args.indexOf('--');
  return (
    split !== -1 && [launch.command, ...launch.args.slice(0, split)].some((p) => /sphyr-mcp(\.js)?$/.test(p))
  );
}

/** sphyr-mcp alone, as the wrapped entry starts it (everything before `--`). */
function sphyrPart(launch: Launch): Launch {
  return { ...launch, args: launch.args.slice(0, launch.args.indexOf('--')) };
}

/** Every entry of one file that starts sphyr-mcp; a file that does not parse is a problem. */
async function checksIn(
  client: ClientAdapter,
  file: string,
  local: string,
): Promise<{ checks: Check[]; problem?: string }> {
  const { readConfig } = await import('../../guard/editors.js');
  const { snapshot } = await import('../../guard/safe-write.js');
  const { ENTRY_NAME, sameKey, serverMapsOf, serversOf } = await import('../../guard/plan.js');
  let doc: Record<string, unknown>;
  try {
    const snap = await snapshot(local);
    if (snap.raw === undefined) return { checks: [] };
    doc = (await readConfig(client, snap.raw)).doc;
  } catch (error) {
    return { checks: [], problem: (error as Error).message };
  }
  const checks: Check[] = [];
  for (const key of serverMapsOf(client, doc)) {
    const own = sameKey(key, client.serversKey);
    for (const [name, entry] of Object.entries(serversOf(doc, key))) {
      const launch = client.readEntry(entry);
      if (own && name === ENTRY_NAME) {
        if (!launch)
          return { checks, problem: 'the sphyr entry is not a stdio command; run sphyr guard init' };
        checks.push({ client, file, label: ENTRY_NAME, wrapped: false, entry, launch });
      } else if (launch && isWrapped(launch)) {
        const where = own
          ? name
          : `${key
              .slice(0, -1)
              .map((k, i) => (i ? `[${JSON.stringify(k)}]` : k))
              .join('')}.${key.at(-1)}.${name}`;
        checks.push({ client, file, label: where, wrapped: true, entry, launch });
      }
    }
  }
  return { checks };
}

function describeServer(r: HandshakeResult): string {
  return `${r.serverName ?? 'server'} ${r.serverVersion ?? ''}`.trim();
}

/** One entry: the handshake, then the credential through check_url. Returns whether both passed. */
async function runCheck(io: CliIo, h: GuardHost, c: Check): Promise<boolean> {
  const { clientEnv, handshake } = await import('../../guard/doctor.js');
  const { CHECK_URL, credentialVerdict } = await import('../../guard/doctor-check.js');
  const { clientMisses, credentialSetup } = await import('../../guard/reach.js');
  const name = `${c.client.displayName}${c.wrapped ? ` (${c.label}, wrapped)` : ''}`;
  // Exactly the environment this client would give it (its own rule), the entry's env on top.
  const inherited = c.client.inheritedEnv(h.platform, io.env, c.entry);
  const env = clientEnv(Object.keys(inherited), inherited, c.launch.env);
  const call = { name: 'check_url', arguments: { url: CHECK_URL } };
  const first = await handshake({ ...c.launch, env }, c.wrapped ? {} : { call });
  if (!first.ok) {
    io.out(`✗ ${name}: ${first.reason} — ${c.file}`);
    if (first.stderrTail) io.err(first.stderrTail);
    return false;
  }
  // A wrapped server's tools are the upstream's: its sphyr-mcp is asked on its own, same env.
  const asked = c.wrapped ? await handshake({ ...sphyrPart(c.launch), env }, { call }) : first;
  if (!asked.ok || !asked.call) {
    const why = asked.ok
      ? `${describeServer(asked)} has no check_url tool: is it sphyr-mcp? run sphyr guard init`
      : asked.reason;
    io.out(`✗ ${name}: ${why} — ${c.file}`);
    return false;
  }
  const setup = await credentialSetup({ home: io.home, env: io.env }, false);
  const verdict = credentialVerdict(asked.call, clientMisses(c.client, h.platform, setup, io.env, c.entry));
  const tools = first.tools?.length ? `tools: ${first.tools.join(', ')}` : 'no tools';
  if (!verdict.ok) {
    io.out(`✗ ${name}: ${describeServer(first)} answered (${tools}), but ${verdict.text} — ${c.file}`);
    return false;
  }
  io.out(
    `✓ ${name}: ${describeServer(first)} answered (${tools}); ${verdict.text} (${Math.round(first.ms)} ms) — ${c.file}`,
  );
  return true;
}

export async function guardDoctor(
  io: CliIo,
  opts: DoctorOptions,
  setExit: (code: number) => void,
): Promise<void> {
  const h = await host(io);
  const { findTargets } = await import('../../guard/run.js');
  const targets = await findTargets(h, { clients: opts.client ?? [], project: opts.project });
  let checked = 0;
  let failures = 0;
  for (const t of targets) {
    const { checks, problem } = await checksIn(t.client, t.file, t.local);
    if (problem) {
      failures += 1;
      io.err(`✗ ${t.client.displayName} (${t.file}): ${problem}`);
    }
    for (const c of checks) {
      checked += 1;
      if (!(await runCheck(io, h, c))) failures += 1;
    }
  }
  if (checked === 0 && failures === 0)
    io.err('No client is configured with sphyr yet: run `sphyr guard init`.');
  setExit(failures ? 1 : 0);
}
