/**
 * @module The console's HTML: one layout and one function per page. Every interpolated value goes
 * through `esc`; pages use no script and no inline style (the CSP forbids both).
 */

import type { DeviceGrantRecord, KeyRecord } from '../store/types.js';

export function esc(value: string | number): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "3 minutes" for a span of time. */
export function formatSpan(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  return `${hours} hour${hours === 1 ? '' : 's'}`;
}

export interface PageUser {
  username: string;
  csrfToken: string;
}

export function csrfField(token: string): string {
  return `<input type="hidden" name="_csrf" value="${esc(token)}">`;
}

export function layout(title: string, body: string, user?: PageUser): string {
  const nav = user
    ? `<nav aria-label="Main"><ul>
<li><a href="/console">Overview</a></li>
<li><a href="/console/log">Log</a></li>
<li><a href="/console/agents">Agents</a></li>
<li><a href="/console/keys">Keys</a></li>
<li><a href="/console/policy">Policy</a></li>
<li><a href="/console/webhooks">Webhooks</a></li>
<li><a href="/device">Device approval</a></li>
</ul>
<form method="post" action="/console/logout" class="signout">${csrfField(user.csrfToken)}
<span>Signed in as ${esc(user.username)}</span> <button type="submit">Sign out</button></form></nav>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${esc(title)} · Sphyr console</title>
<link rel="stylesheet" href="/console/assets/console.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><p class="brand"><a href="/console">Sphyr</a></p>${nav}</header>
<main id="main">
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

export function messagePage(title: string, message: string, user?: PageUser, links = ''): string {
  return layout(title, `<p>${esc(message)}</p>${links}`, user);
}

export function loginPage(options: {
  csrf: string;
  next?: string;
  error?: string;
  username?: string;
}): string {
  const error = options.error ? `<p class="error" role="alert">${esc(options.error)}</p>` : '';
  const next = options.next ? `<input type="hidden" name="next" value="${esc(options.next)}">` : '';
  return layout(
    'Sign in',
    `${error}<form method="post" action="/console/login" class="stack">
<input type="hidden" name="_csrf" value="${esc(options.csrf)}">${next}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required autofocus value="${esc(options.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function deviceCodePage(user: PageUser, error?: string): string {
  const message = error ? `<p class="error" role="alert">${esc(error)}</p>` : '';
  return layout(
    'Approve a device',
    `${message}<p>Enter the code shown by <code>sphyr login</code> (or another client) on the device you are signing in.</p>
<p class="warning">Only enter a code from a device you are using right now. Never enter a code somebody sent you.</p>
<form method="post" action="/device" class="stack">${csrfField(user.csrfToken)}
<label for="user_code">Code</label>
<input id="user_code" name="user_code" required autofocus autocomplete="off" autocapitalize="characters"
 spellcheck="false" placeholder="XXXX-XXXX" maxlength="20">
<button type="submit">Continue</button>
</form>`,
    user,
  );
}

export function deviceConfirmPage(user: PageUser, grant: DeviceGrantRecord, now: number): string {
  const rows: [string, string][] = [
    ['Code', grant.userCode],
    ['Client', grant.clientId],
    ['Scope', grant.scope || '(none)'],
    ['Device name', grant.deviceName || '(not given)'],
    ['Requested from IP', grant.requesterIp],
    ['User-Agent', grant.requesterAgent || '(not given)'],
    ['Requested', `${formatTime(grant.createdAt)} (${formatSpan(now - grant.createdAt)} ago)`],
    ['Expires', `${formatTime(grant.expiresAt)} (in ${formatSpan(grant.expiresAt - now)})`],
  ];
  const table = rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n');
  const hidden = `${csrfField(user.csrfToken)}<input type="hidden" name="user_code" value="${esc(grant.userCode)}">`;
  return layout(
    'Approve this device?',
    `<p class="warning">Approving gives this device a new API key that can send requests through this gateway.
Approve only if you started this sign-in yourself, on a device you are using right now.</p>
<table class="details"><caption>What is asking for access</caption>
${table}
</table>
<div class="actions">
<form method="post" action="/device/decision">${hidden}<input type="hidden" name="decision" value="approve">
<button type="submit" class="primary">Approve</button></form>
<form method="post" action="/device/decision">${hidden}<input type="hidden" name="decision" value="deny">
<button type="submit" class="danger">Deny</button></form>
</div>`,
    user,
  );
}

export function keysPage(user: PageUser, keys: readonly KeyRecord[], notice?: string): string {
  const rows = keys
    .map((key) => {
      const status = key.revokedAt === null ? 'active' : `revoked ${formatTime(key.revokedAt)}`;
      const idAttr = esc(key.id);
      const actions =
        key.revokedAt === null
          ? `<form method="post" action="/console/keys/${idAttr}/rename" class="inline">${csrfField(user.csrfToken)}
<label for="name-${idAttr}" class="visually-hidden">New name for ${idAttr}</label>
<input id="name-${idAttr}" name="name" required maxlength="200" value="${esc(key.name)}">
<button type="submit">Rename</button></form>
<form method="post" action="/console/keys/${idAttr}/rotate" class="inline">${csrfField(user.csrfToken)}
<button type="submit" aria-label="Rotate ${idAttr}">Rotate</button></form>
<form method="post" action="/console/keys/${idAttr}/revoke" class="inline">${csrfField(user.csrfToken)}
<button type="submit" class="danger" aria-label="Revoke ${idAttr}">Revoke</button></form>`
          : '';
      return `<tr><td><code>${idAttr}</code></td><td>${esc(key.name)}</td><td>${esc(formatTime(key.createdAt))}</td>
<td>${esc(status)}</td><td>${actions}</td></tr>`;
    })
    .join('\n');
  const list =
    keys.length === 0
      ? '<p>No keys yet.</p>'
      : `<table class="keys"><caption>API keys (secrets are never shown after creation)</caption>
<thead><tr><th scope="col">Key id</th><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
  const message = notice ? `<p class="notice" role="status">${esc(notice)}</p>` : '';
  return layout(
    'Keys',
    `${message}<h2>Create a key</h2>
<form method="post" action="/console/keys" class="inline">${csrfField(user.csrfToken)}
<label for="new-name">Name</label>
<input id="new-name" name="name" required maxlength="200" placeholder="who or what uses it">
<button type="submit">Create key</button></form>
<h2>All keys</h2>
${list}`,
    user,
  );
}

/** The one page that shows a credential: right after creation or rotation. */
export function credentialPage(user: PageUser, key: KeyRecord, credential: string, rotated: boolean): string {
  return layout(
    rotated ? 'Key rotated' : 'Key created',
    `<p>${rotated ? 'The key has a new secret; the old credential has stopped working.' : 'The new key is ready.'}
Key <code>${esc(key.id)}</code> (${esc(key.name)}).</p>
<p class="warning"><strong>Copy the credential now: it is not shown again.</strong>
Put it in <code>SPHYR_CREDENTIAL</code> or <code>~/.sphyr/config.json</code> on the machine that uses it.</p>
<label for="credential">Credential</label>
<input id="credential" class="credential" readonly value="${esc(credential)}" autocomplete="off" spellcheck="false">
<p><a href="/console/keys">Back to keys</a></p>`,
    user,
  );
}
