/**
 * @module The webhook console pages' HTML. Every interpolated value goes through `esc`; no script,
 * no inline style (the CSP forbids both).
 */

import { EVENT_TYPES } from '../events.js';
import type { WebhookDeliveryRecord, WebhookRecord } from '../store/types.js';
import { standardWebhooksSecret } from '../webhooks/signing.js';
import { csrfField, esc, formatTime, layout, type PageUser } from './html.js';

function status(hook: WebhookRecord): string {
  if (hook.disabledAt === null) {
    return hook.consecutiveFailures > 0
      ? `active (${hook.consecutiveFailures} failed attempt${hook.consecutiveFailures === 1 ? '' : 's'} in a row)`
      : 'active';
  }
  return `disabled ${formatTime(hook.disabledAt)}: ${hook.disabledReason ?? 'no reason recorded'}`;
}

export function webhooksPage(
  user: PageUser,
  hooks: readonly WebhookRecord[],
  options: { notice?: string; error?: string; url?: string; events?: readonly string[] } = {},
): string {
  const rows = hooks
    .map((hook) => {
      const id = esc(hook.id);
      const disabled = hook.disabledAt !== null;
      const enable = disabled
        ? `<form method="post" action="/console/webhooks/${id}/enable" class="inline">${csrfField(user.csrfToken)}
<button type="submit" class="primary" aria-label="Enable ${id}">Enable</button></form>`
        : '';
      return `<tr><td><code>${id}</code></td><td><code>${esc(hook.url)}</code></td>
<td>${esc(hook.events.join(', '))}</td><td>${esc(formatTime(hook.createdAt))}</td>
<td${disabled ? ' class="error"' : ''}>${disabled ? '<strong>Disabled</strong> — ' : ''}${esc(status(hook))}</td>
<td><a href="/console/webhooks/${id}/deliveries">Deliveries</a>
${enable}<form method="post" action="/console/webhooks/${id}/rotate" class="inline">${csrfField(user.csrfToken)}
<button type="submit" aria-label="Rotate the secret of ${id}">Rotate secret</button></form>
<form method="post" action="/console/webhooks/${id}/delete" class="inline">${csrfField(user.csrfToken)}
<button type="submit" class="danger" aria-label="Delete ${id}">Delete</button></form></td></tr>`;
    })
    .join('\n');
  const list =
    hooks.length === 0
      ? '<p>No webhooks yet.</p>'
      : `<table class="keys"><caption>Webhooks (secrets are never shown after creation or rotation)</caption>
<thead><tr><th scope="col">Id</th><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Created</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
  const chosen = new Set(options.events ?? []);
  const boxes = EVENT_TYPES.map(
    (type) =>
      `<label class="check"><input type="checkbox" name="events" value="${esc(type)}"${chosen.has(type) ? ' checked' : ''}><code>${esc(type)}</code></label>`,
  ).join('\n');
  const notice = options.notice ? `<p class="notice" role="status">${esc(options.notice)}</p>` : '';
  const error = options.error ? `<p class="error" role="alert">${esc(options.error)}</p>` : '';
  return layout(
    'Webhooks',
    `${notice}${error}<h2>Add a webhook</h2>
<p class="muted">Events are POSTed as JSON, signed with <code>X-Sphyr-Signature</code> and the Standard Webhooks
headers. The URL must reach a public address; redirects are not followed.</p>
<form method="post" action="/console/webhooks" class="stack">${csrfField(user.csrfToken)}
<label for="webhook-url">URL</label>
<input id="webhook-url" name="url" type="url" required maxlength="2048" placeholder="https://example.com/hooks/sphyr" value="${esc(options.url ?? '')}">
<fieldset class="checks"><legend>Events</legend>
${boxes}
</fieldset>
<button type="submit" class="primary">Add webhook</button>
</form>
<h2>All webhooks</h2>
${list}`,
    user,
  );
}

/** The one page that shows a webhook secret: right after creation or rotation. */
export function webhookSecretPage(
  user: PageUser,
  hook: WebhookRecord,
  secret: string,
  rotated: boolean,
): string {
  return layout(
    rotated ? 'Webhook secret rotated' : 'Webhook created',
    `<p>${rotated ? 'The webhook has a new secret; the old one stopped working now.' : 'The webhook is ready.'}
Webhook <code>${esc(hook.id)}</code> → <code>${esc(hook.url)}</code>.</p>
<p class="warning"><strong>Copy the secret now: it is not shown again.</strong></p>
<label for="secret">Signing secret (verify <code>X-Sphyr-Signature</code>: hex HMAC-SHA256 of the raw body, keyed with this text)</label>
<input id="secret" class="credential" readonly value="${esc(secret)}" autocomplete="off" spellcheck="false">
<label for="whsec">The same secret for Standard Webhooks libraries (<code>webhook-signature</code>)</label>
<input id="whsec" class="credential" readonly value="${esc(standardWebhooksSecret(secret))}" autocomplete="off" spellcheck="false">
<p><a href="/console/webhooks">Back to webhooks</a></p>`,
    user,
  );
}

export function deliveriesPage(
  user: PageUser,
  hook: WebhookRecord,
  deliveries: readonly WebhookDeliveryRecord[],
): string {
  const time = (ms: number | null) => (ms === null ? '—' : formatTime(ms));
  const rows = deliveries
    .map(
      (d) => `<tr><td><code>${esc(d.eventId)}</code></td><td>${esc(d.eventType)}</td><td>${esc(d.status)}</td>
<td>${esc(d.attempts)}</td><td>${esc(d.lastStatusCode ?? '—')}</td><td>${esc(d.lastError ?? '')}</td>
<td>${esc(time(d.createdAt))}</td><td>${esc(time(d.lastAttemptAt))}</td><td>${esc(d.status === 'delivered' ? time(d.deliveredAt) : time(d.nextAttemptAt))}</td></tr>`,
    )
    .join('\n');
  const state =
    hook.disabledAt === null
      ? '<p>Status: active.</p>'
      : `<p class="error" role="alert"><strong>Disabled</strong> since ${esc(formatTime(hook.disabledAt))}: ${esc(hook.disabledReason ?? 'no reason recorded')}.
Enable it on the <a href="/console/webhooks">Webhooks</a> page.</p>`;
  const table =
    deliveries.length === 0
      ? '<p>No deliveries yet.</p>'
      : `<table><caption>Latest deliveries, newest first</caption>
<thead><tr><th scope="col">Event</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Attempts</th>
<th scope="col">Response</th><th scope="col">Last error</th><th scope="col">Queued</th><th scope="col">Last attempt</th><th scope="col">Delivered / next try</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
  return layout(
    `Deliveries of ${hook.id}`,
    `<p><code>${esc(hook.url)}</code> — ${esc(hook.events.join(', '))}</p>
${state}
${table}
<p><a href="/console/webhooks">Back to webhooks</a></p>`,
    user,
  );
}
