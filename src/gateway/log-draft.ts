import type { LogKind, NewLogRecord } from './store/types.js';

/** A log record filled in as the request moves through the pipeline, appended once at the end. */
export type LogDraft = NewLogRecord;

export function newDraft(id: string, ts: number, kind: LogKind, clientIp: string, method: string): LogDraft {
  return {
    id,
    ts,
    kind,
    keyId: null,
    agentId: null,
    clientIp,
    method,
    urlHash: null,
    host: null,
    url: null,
    entropy: null,
    outcome: 'error',
    reason: 'internal_error',
    status: 0,
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 0,
    signature: null,
    tool: null,
    argsDigest: null,
  };
}

/** The URL with every query value replaced, for policies that keep full URLs. */
export function redactQuery(url: URL): string {
  const copy = new URL(url.href);
  copy.hash = '';
  if (copy.search) {
    const names = [...copy.searchParams.keys()];
    copy.search = names.map((n) => `${encodeURIComponent(n)}=REDACTED`).join('&');
  }
  copy.username = '';
  copy.password = '';
  return copy.href;
}
