/**
 * @module Gemini CLI's environment redaction for MCP servers (its
 * packages/core/src/services/environmentSanitization.ts, as in Gemini CLI 0.61): it passes its whole
 * environment except variables whose name or value looks like a secret; on GitHub Actions
 * (GITHUB_SHA set, or SURFACE=Github) only a short allowlist. The entry's own `env` is not redacted.
 */

import { sdkDefaultEnv } from './common.js';
import type { Platform } from './types.js';

const ALWAYS_ALLOWED = new Set([
  'PATH',
  'SYSTEMROOT',
  'COMSPEC',
  'PATHEXT',
  'WINDIR',
  'TEMP',
  'TMP',
  'USERPROFILE',
  'SYSTEMDRIVE',
  'HOME',
  'LANG',
  'SHELL',
  'TMPDIR',
  'USER',
  'LOGNAME',
  'TERM',
  'COLORTERM',
  // What a GitHub Action run passes on.
  'ADDITIONAL_CONTEXT',
  'AVAILABLE_LABELS',
  'BRANCH_NAME',
  'DESCRIPTION',
  'EVENT_NAME',
  'GITHUB_ENV',
  'IS_PULL_REQUEST',
  'ISSUES_TO_TRIAGE',
  'ISSUE_BODY',
  'ISSUE_NUMBER',
  'ISSUE_TITLE',
  'PULL_REQUEST_NUMBER',
  'REPOSITORY',
  'TITLE',
  'TRIGGERING_ACTOR',
]);

const NEVER_ALLOWED = new Set([
  'CLIENT_ID',
  'DB_URI',
  'CONNECTION_STRING',
  'AWS_DEFAULT_REGION',
  'AZURE_CLIENT_ID',
  'AZURE_TENANT_ID',
  'SLACK_WEBHOOK_URL',
  'TWILIO_ACCOUNT_SID',
  'DATABASE_URL',
  'GOOGLE_CLOUD_PROJECT',
  'GOOGLE_CLOUD_ACCOUNT',
  'FIREBASE_PROJECT_ID',
]);

/** A name with any of these words is never passed: SPHYR_CREDENTIAL is one. */
export const GEMINI_SECRET_WORDS = [
  'TOKEN',
  'SECRET',
  'PASSWORD',
  'PASSWD',
  'KEY',
  'AUTH',
  'CREDENTIAL',
  'CREDS',
  'PRIVATE',
  'CERT',
];

const SECRET_VALUES = [
  /-----BEGIN (RSA|OPENSSH|EC|PGP) PRIVATE KEY-----/i,
  /-----BEGIN CERTIFICATE-----/i,
  /(https?|ftp|smtp):\/\/[^:\s]{1,1024}:[^@\s]{1,1024}@/i,
  /(ghp|gho|ghu|ghs|ghr|github_pat)_[a-zA-Z0-9_]{36,}/i,
  /AIzaSy[a-zA-Z0-9_\\-]{33}/i,
  /AKIA[A-Z0-9]{16}/i,
  /eyJ[a-zA-Z0-9_-]{0,10240}\.[a-zA-Z0-9_-]{0,10240}\.[a-zA-Z0-9_-]{0,10240}/i,
  /(s|r)k_(live|test)_[0-9a-zA-Z]{24}/i,
  /xox[abpr]-[a-zA-Z0-9-]+/i,
];

function hidden(name: string, value: string, strict: boolean): boolean {
  const key = name.toUpperCase();
  if (key.startsWith('GEMINI_CLI_')) return false;
  if (SECRET_VALUES.some((p) => p.test(value))) return true;
  if (key.startsWith('GIT_CONFIG_')) return false;
  if (ALWAYS_ALLOWED.has(key)) return false;
  if (NEVER_ALLOWED.has(key) || strict) return true;
  return GEMINI_SECRET_WORDS.some((word) => key.includes(word));
}

/** What Gemini CLI gives a stdio MCP server from its environment `parent`. */
export function geminiInheritedEnv(
  platform: Platform,
  parent: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const strict = Boolean(parent.GITHUB_SHA) || parent.SURFACE === 'Github';
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !hidden(name, value, strict)) out[name] = value;
  }
  // The SDK's transport lays its defaults under what Gemini passes; all of them are allowed above.
  for (const name of sdkDefaultEnv(platform)) {
    const value = parent[name];
    if (value !== undefined && !(name in out) && !hidden(name, value, strict)) out[name] = value;
  }
  return out;
}

export const GEMINI_ENV_RULE = `its environment minus every variable whose name contains ${GEMINI_SECRET_WORDS.join(', ')} or whose value looks like a token, SPHYR_CREDENTIAL among them; on GitHub Actions only HOME, PATH and a few more; plus the entry's env`;
