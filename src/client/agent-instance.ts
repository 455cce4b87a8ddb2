import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * @module An agent's identity across restarts (POST /v1/agents `instance`): a value the client
 * derives the same way each time it starts on one machine, so the gateway renews the agent it
 * already has instead of making a new one. Only a hash leaves the machine: the machine id is
 * meant to stay private (machine-id(5)), and command lines may hold secrets.
 */

/** Where Linux keeps its random machine id (systemd, then D-Bus). Elsewhere the hostname stands in. */
const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

/**
 * This machine, as stably as can be read without running anything: `SPHYR_MACHINE_ID` when set
 * (containers from one image share /etc/machine-id; tests), else the machine id and the hostname
 * (a container's hostname is its own).
 */
export function machineIdentity(
  env: Readonly<Record<string, string | undefined>> = process.env,
  files: readonly string[] = MACHINE_ID_FILES,
): string {
  const set = env.SPHYR_MACHINE_ID?.trim();
  if (set) return `set:${set}`;
  let id = '';
  for (const file of files) {
    try {
      id = readFileSync(file, 'utf8').trim();
    } catch {
      // Not there (macOS, Windows, a minimal container): try the next, then the hostname alone.
    }
    if (id) break;
  }
  return `${id}\n${os.hostname()}`;
}

export interface InstanceParts {
  /** `machineIdentity()`. */
  machine: string;
  /** The user's home folder: two accounts on one machine are two agents. */
  home: string;
  /** The program the agent runs in: for sphyr-mcp the MCP client (IDE) by its clientInfo.name. */
  client: string;
  /** The agent name it registers with. */
  name: string;
  /** What else tells two agents of one client apart: for wrap mode, the wrapped server's command line. */
  detail?: readonly string[];
}

/** 32 hex characters (128 bits of SHA-256): the same parts, the same instance, on every start. */
export function agentInstance(parts: InstanceParts): string {
  const text = JSON.stringify([
    'sphyr-agent-instance/1',
    parts.machine,
    parts.home,
    parts.client,
    parts.name,
    parts.detail ?? [],
  ]);
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
