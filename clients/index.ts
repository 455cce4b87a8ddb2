/** @module Every client sphyr guard knows, in the order they are shown. */

import { antigravity } from './antigravity.js';
import { claudeCode } from './claude-code.js';
import { claudeDesktop } from './claude-desktop.js';
import { codex } from './codex.js';
import { cursor } from './cursor.js';
import { cline, geminiCli, junie, lmStudio, opencode } from './extras.js';
import type { ClientAdapter } from './types.js';
import { vscode, vscodeInsiders } from './vscode.js';
import { windsurf } from './windsurf.js';
import { zed } from './zed.js';

export const CLIENTS: readonly ClientAdapter[] = [
  claudeDesktop,
  claudeCode,
  cursor,
  vscode,
  vscodeInsiders,
  zed,
  windsurf,
  codex,
  antigravity,
  geminiCli,
  cline,
  lmStudio,
  junie,
  opencode,
];

export function clientById(id: string): ClientAdapter | undefined {
  return CLIENTS.find((c) => c.id === id);
}

export type { ClientAdapter, ConfigFormat, ConfigLocation, Launch, PathContext, Platform } from './types.js';
