/** @module What the `sphyr guard` subcommands share: the host, redaction, prompts, option parsing. */

import type { Platform } from '../../../clients/types.js';
import { SphyrConfigError } from '../../errors.js';
import type { GuardHost } from '../../guard/platform.js';
import type { CliIo } from '../io.js';

export const PLATFORMS: readonly Platform[] = ['darwin', 'win32', 'linux'];

export async function host(io: CliIo): Promise<GuardHost> {
  const { currentPlatform } = await import('../../guard/platform.js');
  return { platform: io.platform ?? currentPlatform(), env: io.env, home: io.home, now: () => new Date() };
}

/** A credential must never reach the terminal in a diff: show its key id only. */
export function redact(text: string): string {
  return text.replace(/sphyr\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+/g, 'sphyr.$1.***');
}

export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

export async function confirm(io: CliIo, question: string): Promise<boolean> {
  if (!io.ask) {
    throw new SphyrConfigError(
      'not_interactive',
      'no terminal to ask for confirmation: pass --yes to apply the changes shown above (or --dry-run to only show them)',
    );
  }
  const answer = (await io.ask(question)) ?? '';
  return /^y(es)?$/i.test(answer.trim());
}

/** ` (backup: <file>)`, and which older backups went to keep the newest few. */
export function backupNote(r: { backup?: string; pruned?: string[] }): string {
  if (!r.backup) return '';
  const pruned = r.pruned?.length
    ? `; deleted older backup${r.pruned.length > 1 ? 's' : ''} ${r.pruned.join(', ')} (guard keeps the newest 3)`
    : '';
  return ` (backup: ${r.backup}${pruned})`;
}
