/**
 * @module What `guard doctor` makes of sphyr-mcp's answer to `check_url`: proof that the entry's
 * sphyr-mcp has a credential and the gateway takes it, or what is wrong and how to fix it.
 */

import type { CallResult } from './doctor.js';

/**
 * The URL doctor asks about. The gateway judges it (cloud metadata: always blocked) and sends
 * nothing to it; an IP literal needs no DNS, so the answer is quick even offline.
 */
export const CHECK_URL = 'http://169.254.169.254/latest/meta-data/';

/** Codes the gateway gives for a credential it will not take (SphyrAuthError). */
const REFUSED =
  /^(key_revoked|key_unknown|unknown_key|bad_signature|signature_[a-z_]+|auth_[a-z_]+|nonce_[a-z_]+|clock_skew)$/;

export interface CredentialVerdict {
  ok: boolean;
  /** `not_configured`, `gateway_unreachable`, a refusal code… (absent when ok). */
  code?: string;
  text: string;
}

/**
 * Read a check_url answer. `missing` says why this client's sphyr-mcp would lack the credential
 * (clientMisses), for the not_configured fix.
 */
export function credentialVerdict(call: CallResult, missing?: string): CredentialVerdict {
  if (!call.isError) {
    const verdict = call.structured?.verdict;
    const reason = call.structured?.reason;
    const said =
      typeof verdict === 'string'
        ? `${verdict}${typeof reason === 'string' ? `, ${reason}` : ''}`
        : 'an answer';
    return { ok: true, text: `the gateway answered check_url with its credential (${said})` };
  }
  const code = call.text.match(/\(([a-z][a-z0-9_]*)\)/)?.[1] ?? 'error';
  // sphyr-mcp says "<what> (<code>): <detail>"; the code and the detail are what matter here.
  const text = call.text.replace(/\s+/g, ' ').trim();
  const detail = text.includes('): ') ? text.slice(text.indexOf('): ') + 3) : text;
  const said = `${code}: ${detail}`;
  if (code === 'not_configured') {
    return {
      ok: false,
      code,
      text: `no credential reaches sphyr-mcp, so every sphyr tool call answers "not configured" (${said}). Fix: ${missing ?? 'run `sphyr login` (it saves ~/.sphyr/config.json, which sphyr-mcp reads), then restart the client'}`,
    };
  }
  if (code === 'gateway_unreachable') {
    return {
      ok: false,
      code,
      text: `the gateway is unreachable, so every sphyr tool call fails closed (${said}). Fix: start the gateway (\`sphyr gateway start\`) or point sphyr at the right one (\`sphyr login --gateway URL\`)`,
    };
  }
  if (REFUSED.test(code) || /refused this agent's credential/.test(text)) {
    return {
      ok: false,
      code,
      text: `the gateway refused the credential (${said}). Fix: run \`sphyr login\` for a new one, then restart the client`,
    };
  }
  return { ok: false, code, text: `check_url failed (${said})` };
}
