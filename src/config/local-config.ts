import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SphyrConfigError } from '../errors.js';
import { type Credential, parseCredential } from './credential.js';
import { localConfigPath, type PlatformFacts } from './paths.js';

/** What a client needs to talk to a gateway: one credential and the gateway URL. */
export interface ClientSettings {
  gatewayUrl: string | undefined;
  credential: Credential | undefined;
  /** Where each value came from, for messages (`SPHYR_CREDENTIAL`, the config file path, …). */
  sources: { gatewayUrl?: string; credential?: string };
}

interface FileContents {
  gateway?: string;
  credential?: string;
}

/** Validate a gateway URL: http(s), no credentials, no query or fragment. */
export function parseGatewayUrl(text: string, source: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new SphyrConfigError(
      'gateway_url_invalid',
      `${source}: "${text}" is not a URL; expected something like http://127.0.0.1:7470`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SphyrConfigError(
      'gateway_url_invalid',
      `${source}: the gateway URL must be http:// or https://`,
    );
  }
  if (url.username || url.password) {
    throw new SphyrConfigError(
      'gateway_url_invalid',
      `${source}: the gateway URL must not contain credentials; use SPHYR_CREDENTIAL`,
    );
  }
  return url.origin;
}

function unreadable(file: string, error: unknown): SphyrConfigError | undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  return new SphyrConfigError(
    'config_unreadable',
    `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); check its permissions`,
    { cause: error },
  );
}

function parseFileContents(file: string, text: string): FileContents {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new SphyrConfigError(
      'config_malformed',
      `${file}: is not valid JSON (${(error as Error).message}); fix it or run \`sphyr login\` to rewrite it`,
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SphyrConfigError(
      'config_malformed',
      `${file}: must hold a JSON object like {"gateway": "...", "credential": "..."}`,
    );
  }
  const record = data as Record<string, unknown>;
  for (const key of ['gateway', 'credential'] as const) {
    if (record[key] !== undefined && typeof record[key] !== 'string') {
      throw new SphyrConfigError('config_malformed', `${file}: "${key}" must be a string`);
    }
  }
  return {
    gateway: record.gateway as string | undefined,
    credential: record.credential as string | undefined,
  };
}

/**
 * Settings from `~/.sphyr/config.json`, with `SPHYR_CREDENTIAL` and `SPHYR_GATEWAY_URL` overriding it.
 * A variable that is set wins even if the file is broken, so CI never depends on a stray file.
 */
export async function readClientSettings(facts: PlatformFacts): Promise<ClientSettings> {
  const file = localConfigPath(facts);
  let text: string | undefined;
  if (needsFile(facts)) {
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const problem = unreadable(file, error);
      if (problem) throw problem;
    }
  }
  return settingsFrom(facts, file, text);
}

/** The same, synchronously: for `autoInstrument()`, which must be in force before its caller's next line. */
export function readClientSettingsSync(facts: PlatformFacts): ClientSettings {
  const file = localConfigPath(facts);
  let text: string | undefined;
  if (needsFile(facts)) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const problem = unreadable(file, error);
      if (problem) throw problem;
    }
  }
  return settingsFrom(facts, file, text);
}

function needsFile(facts: PlatformFacts): boolean {
  return !(facts.env.SPHYR_CREDENTIAL?.trim() && facts.env.SPHYR_GATEWAY_URL?.trim());
}

function settingsFrom(facts: PlatformFacts, file: string, text: string | undefined): ClientSettings {
  const envCredential = facts.env.SPHYR_CREDENTIAL?.trim() || undefined;
  const envGateway = facts.env.SPHYR_GATEWAY_URL?.trim() || undefined;
  const contents = text === undefined ? undefined : parseFileContents(file, text);
  const settings: ClientSettings = { gatewayUrl: undefined, credential: undefined, sources: {} };
  if (envGateway) {
    settings.gatewayUrl = parseGatewayUrl(envGateway, 'SPHYR_GATEWAY_URL');
    settings.sources.gatewayUrl = 'SPHYR_GATEWAY_URL';
  } else if (contents?.gateway) {
    settings.gatewayUrl = parseGatewayUrl(contents.gateway, `${file} ("gateway")`);
    settings.sources.gatewayUrl = file;
  }
  if (envCredential) {
    settings.credential = parseCredential(envCredential, 'SPHYR_CREDENTIAL');
    settings.sources.credential = 'SPHYR_CREDENTIAL';
  } else if (contents?.credential) {
    settings.credential = parseCredential(contents.credential, `${file} ("credential")`);
    settings.sources.credential = file;
  }
  return settings;
}

/** Write `~/.sphyr/config.json` atomically with mode 0600 (its folder 0700). */
export async function writeClientSettings(
  facts: PlatformFacts,
  values: { gatewayUrl: string; credential: Credential },
): Promise<string> {
  const file = localConfigPath(facts);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const body = `${JSON.stringify({ gateway: values.gatewayUrl, credential: values.credential.reveal() }, null, 2)}\n`;
  // Only writers need it; readers (sphyr-mcp, the SDK) start faster without it.
  const { default: writeFileAtomic } = await import('write-file-atomic');
  await writeFileAtomic(file, body, { mode: 0o600 });
  return file;
}
