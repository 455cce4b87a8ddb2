/**
 * @module Whether sphyr-mcp, started by a given client, will find a credential and a gateway URL:
 * in its entry (--embed-credential), in ~/.sphyr/config.json (`sphyr login`), or in the
 * environment, which each client filters by its own rule (clients/*: inheritedEnv).
 */

import type { ClientAdapter, Platform } from '../../clients/types.js';
import { readClientSettings } from '../config/local-config.js';
import { localConfigPath } from '../config/paths.js';

/** Where one value (the credential, the gateway URL) is found. */
export interface Where {
  /** In the entry itself (--embed-credential). */
  entry: boolean;
  /** In ~/.sphyr/config.json, which sphyr-mcp reads whatever its environment. */
  file: boolean;
  /** In the environment guard runs in (the client passes it on, or not). */
  env: boolean;
}

export interface CredentialSetup {
  credential: Where;
  gateway: Where;
  /** ~/.sphyr/config.json */
  file: string;
  /** Why that file could not be used, when it exists but is broken. */
  problem?: string;
}

/** Where the credential and the gateway URL come from for an entry init writes now. */
export async function credentialSetup(
  facts: { home: string; env: Readonly<Record<string, string | undefined>> },
  embedded: boolean,
): Promise<CredentialSetup> {
  const file = localConfigPath(facts);
  let inFile = { credential: false, gateway: false };
  let problem: string | undefined;
  try {
    // The file alone, as sphyr-mcp falls back to it when its environment has nothing.
    const settings = await readClientSettings({ home: facts.home, env: {} });
    inFile = { credential: Boolean(settings.credential), gateway: Boolean(settings.gatewayUrl) };
  } catch (error) {
    problem = (error as Error).message;
  }
  const where = (fromFile: boolean, name: string): Where => ({
    entry: embedded,
    file: fromFile,
    env: Boolean(facts.env[name]?.trim()),
  });
  return {
    credential: where(inFile.credential, 'SPHYR_CREDENTIAL'),
    gateway: where(inFile.gateway, 'SPHYR_GATEWAY_URL'),
    file,
    ...(problem ? { problem } : {}),
  };
}

const nowhere = (w: Where) => !w.entry && !w.file && !w.env;
/** Only the environment has it: whether sphyr-mcp gets it depends on the client's env rule. */
const envOnly = (w: Where) => w.env && !w.entry && !w.file;

/** What is missing everywhere: one warning for the whole run (item: "not configured until login"). */
export function missingEverywhere(setup: CredentialSetup): string | undefined {
  const lacks = [
    nowhere(setup.credential) ? 'credential' : undefined,
    nowhere(setup.gateway) ? 'gateway URL' : undefined,
  ].filter(Boolean);
  if (!lacks.length) return undefined;
  return `there is no ${lacks.join(' and no ')} in ${setup.file} or the environment (SPHYR_CREDENTIAL, SPHYR_GATEWAY_URL), so every sphyr tool call will answer "not configured" until you run \`sphyr login\`; the entries are written and work from then on`;
}

/**
 * Why sphyr-mcp started by `client` would miss a value that only the environment holds, or
 * undefined when it would not. `parent` is the environment the client is assumed to start in.
 */
export function clientMisses(
  client: ClientAdapter,
  platform: Platform,
  setup: CredentialSetup,
  parent: Readonly<Record<string, string | undefined>>,
  entry: unknown,
): string | undefined {
  const inherited = client.inheritedEnv(platform, parent, entry);
  const dropped = [
    envOnly(setup.credential) && !('SPHYR_CREDENTIAL' in inherited) ? 'SPHYR_CREDENTIAL' : undefined,
    envOnly(setup.gateway) && !('SPHYR_GATEWAY_URL' in inherited) ? 'SPHYR_GATEWAY_URL' : undefined,
  ].filter(Boolean);
  if (!dropped.length) return undefined;
  return `${client.displayName} does not pass ${dropped.join(' or ')} from its environment to sphyr-mcp, so its sphyr tools will answer "not configured" (it passes ${client.envRule}). Run \`sphyr login\` (sphyr-mcp then reads ${setup.file}), or run guard init again with --embed-credential`;
}
