import os from 'node:os';
import type { Credential } from '../config/credential.js';
import { parseCredential } from '../config/credential.js';
import { parseGatewayUrl, readClientSettingsSync } from '../config/local-config.js';
import { SphyrConfigError, type SphyrError } from '../errors.js';

/** What `autoInstrument()` accepts; every field has a default from the environment or config. */
export interface AutoInstrumentOptions {
  /** Gateway unreachable → throw `SphyrNetworkError` (true, the default) or send direct with one warning. */
  failClosed?: boolean;
  gatewayUrl?: string;
  /** The `sphyr.<keyid>.<secret>` credential, or a parsed one. */
  credential?: string | Credential;
  agentName?: string;
  /** More hostnames sent direct, besides the gateway, localhost, loopback and RFC 1918. */
  directHosts?: readonly string[];
  /** Hostnames instrumented even though excluded by default (e.g. `127.0.0.1` for a local test target). */
  instrumentHosts?: readonly string[];
  /** Where warnings go; stderr by default. */
  warn?: (message: string) => void;
}

export interface SdkSettings {
  failClosed: boolean;
  gatewayUrl: string | undefined;
  credential: Credential | undefined;
  agentName: string;
  directHosts: readonly string[];
  instrumentHosts: readonly string[];
  warn: (message: string) => void;
  /** Why the SDK cannot sign (no credential, a broken config file…); instrumented requests fail with it. */
  problem: SphyrError | undefined;
}

function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
}

function bool(text: string | undefined, name: string): boolean | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const v = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new SphyrConfigError('option_invalid', `${name}: expected true or false, not "${text}"`);
}

/**
 * Options first, then `SPHYR_*` variables, then `~/.sphyr/config.json`. A problem with the
 * credential or gateway does not throw here: it is kept, and every instrumented request fails
 * with it (fail closed), so an app starts and says clearly why its calls are refused.
 */
export function resolveSdkSettings(
  options: AutoInstrumentOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = os.homedir(),
): SdkSettings {
  const warn = options.warn ?? ((m: string) => process.stderr.write(`sphyr: ${m}\n`));
  const settings: SdkSettings = {
    failClosed: options.failClosed ?? bool(env.SPHYR_FAIL_CLOSED, 'SPHYR_FAIL_CLOSED') ?? true,
    gatewayUrl: undefined,
    credential: undefined,
    agentName: options.agentName ?? env.SPHYR_AGENT_NAME ?? `node-${process.pid}`,
    directHosts: options.directHosts ?? list(env.SPHYR_DIRECT_HOSTS),
    instrumentHosts: options.instrumentHosts ?? list(env.SPHYR_INSTRUMENT_HOSTS),
    warn,
    problem: undefined,
  };
  try {
    const fromConfig =
      options.gatewayUrl !== undefined && options.credential !== undefined
        ? undefined
        : readClientSettingsSync({ home, env });
    settings.gatewayUrl =
      options.gatewayUrl !== undefined
        ? parseGatewayUrl(options.gatewayUrl, 'gatewayUrl')
        : fromConfig?.gatewayUrl;
    settings.credential =
      typeof options.credential === 'string'
        ? parseCredential(options.credential, 'the credential option')
        : (options.credential ?? fromConfig?.credential);
    if (!settings.credential || !settings.gatewayUrl) {
      const missing = !settings.credential ? 'no credential' : 'no gateway URL';
      throw new SphyrConfigError(
        'not_configured',
        `${missing}: run \`sphyr login\`, or set SPHYR_CREDENTIAL and SPHYR_GATEWAY_URL`,
      );
    }
  } catch (error) {
    settings.problem = error as SphyrError;
  }
  return settings;
}
