import { isSphyrError } from '../errors.js';
import { canonicalTargetUri } from '../policy/index.js';
import { type SdkState, warnFailOpen } from './state.js';

export interface PreparedRelay {
  /** The gateway's relay URL. */
  url: URL;
  /** Caller headers plus the signature, as one record (repeated names become arrays). */
  headers: Record<string, string | string[]>;
}

/**
 * Sign one relay for `url`, for any transport. Returns `'direct'` only when the SDK cannot relay
 * (no credential, gateway down) and `failClosed` is false; with `failClosed` it throws instead.
 */
export async function prepareRelay(
  state: SdkState,
  request: { method: string; url: URL; body: Buffer; headers?: Array<[string, string]> },
): Promise<PreparedRelay | 'direct'> {
  const client = state.client;
  if (!client) {
    if (state.settings.failClosed) throw state.settings.problem;
    warnFailOpen(state, state.settings.problem);
    return 'direct';
  }
  try {
    const prepared = await client.prepare({
      kind: 'relay',
      method: request.method,
      path: '/v1/relay',
      body: request.body,
      targetUri: canonicalTargetUri(request.url),
      headers: request.headers,
    });
    return { url: prepared.url, headers: headerRecord(prepared.headers) };
  } catch (error) {
    // Registering the agent failed: the gateway is down or refused us.
    if (isSphyrError(error) && error.code === 'gateway_unreachable' && !state.settings.failClosed) {
      warnFailOpen(state, error);
      return 'direct';
    }
    throw error;
  }
}

export function headerRecord(pairs: Iterable<[string, string]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}
