import os from 'node:os';
import type { Credential } from '../config/credential.js';
import {
  SphyrAuthError,
  type SphyrError,
  SphyrNetworkError,
  SphyrPolicyError,
  SphyrRateLimitError,
  SphyrRequestError,
} from '../errors.js';
import { canonicalTargetUri } from '../policy/index.js';
import { contentDigest, type SignedCallKind, signRequest } from '../signing/index.js';

export interface AgentInfo {
  name: string;
  runtime?: string;
  version?: string;
  host?: string;
  pid?: number;
}

export interface GatewayClientOptions {
  gatewayUrl: string;
  credential: Credential;
  agent: AgentInfo;
  /** The transport: must be an uninstrumented fetch, or requests would loop through the SDK. */
  fetch?: typeof fetch;
  now?: () => number;
}

export interface RelayRequest {
  method: string;
  /** The outbound URL, WHATWG-canonical, fragment removed. */
  url: string;
  headers?: Iterable<[string, string]>;
  body?: Uint8Array;
  signal?: AbortSignal;
}

export interface Verdict {
  verdict: 'allow' | 'block';
  reason: string;
}

export interface ToolCallEvent {
  tool: string;
  argsDigest: string;
  entropy: number;
  outcome: 'allowed' | 'blocked' | 'error';
  reason?: string;
  durationMs: number;
}

const OWN_HEADERS = /^(sphyr-.*|signature|signature-input|content-digest|host|content-length|connection)$/i;

interface Call {
  kind: SignedCallKind;
  method: string;
  path: string;
  body: Uint8Array;
  headers?: Iterable<[string, string]>;
  targetUri?: string;
  signal?: AbortSignal;
}

/**
 * The one client that talks to the gateway, for sphyr-mcp and the SDK alike: it signs every call
 * (DESIGN §3.2), registers the agent, re-registers once on `agent_expired`, corrects its clock once
 * on `clock_skew`, and turns gateway answers into the error classes.
 */
export class GatewayClient {
  readonly gatewayUrl: string;
  readonly #credential: Credential;
  readonly #agent: AgentInfo;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  #offsetMs = 0;
  #agentId: Promise<string> | undefined;

  constructor(options: GatewayClientOptions) {
    this.gatewayUrl = new URL(options.gatewayUrl).origin;
    this.#credential = options.credential;
    this.#agent = options.agent;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
  }

  get keyId(): string {
    return this.#credential.keyId;
  }

  /** Register (once, shared by concurrent callers) and return the agent id. */
  agentId(): Promise<string> {
    this.#agentId ??= this.#register().catch((error) => {
      this.#agentId = undefined;
      throw error;
    });
    return this.#agentId;
  }

  async #register(): Promise<string> {
    const info = {
      name: this.#agent.name,
      runtime: this.#agent.runtime ?? `node ${process.versions.node}`,
      version: this.#agent.version ?? 'unknown',
      host: this.#agent.host ?? os.hostname(),
      pid: this.#agent.pid ?? process.pid,
    };
    const res = await this.#call({
      kind: 'register',
      method: 'POST',
      path: '/v1/agents',
      body: Buffer.from(JSON.stringify(info)),
      headers: [['content-type', 'application/json']],
    });
    const data = (await res.json()) as { agentId?: unknown };
    if (typeof data.agentId !== 'string') {
      throw new SphyrNetworkError(
        'gateway_bad_response',
        'the gateway answered registration without an agentId',
      );
    }
    return data.agentId;
  }

  /**
   * Send one outbound request through `/v1/relay`. Returns the target's response (a 3xx is
   * returned, not followed) or the gateway's 429; throws for blocks, auth failures and outages.
   */
  relay(request: RelayRequest): Promise<Response> {
    return this.#call({
      kind: 'relay',
      method: request.method.toUpperCase(),
      path: '/v1/relay',
      body: request.body ?? new Uint8Array(),
      headers: request.headers,
      targetUri: canonicalTargetUri(request.url),
      signal: request.signal,
    });
  }

  /** The gateway's verdict for a URL, without sending anything to it. */
  async check(method: string, url: string, signal?: AbortSignal): Promise<Verdict> {
    const res = await this.#json('POST', '/v1/check', { method, url }, signal);
    return (await res.json()) as Verdict;
  }

  /** Report an MCP tool call into the log. */
  async reportToolCall(event: ToolCallEvent, signal?: AbortSignal): Promise<void> {
    await this.#json('POST', '/v1/events', event, signal);
  }

  /** This agent's newest log records. */
  async recentRecords(limit = 20, signal?: AbortSignal): Promise<unknown[]> {
    const res = await this.#call({
      kind: 'agent',
      method: 'GET',
      path: `/v1/events?limit=${limit}`,
      body: new Uint8Array(),
      signal,
    });
    return ((await res.json()) as { records: unknown[] }).records;
  }

  async #json(method: string, path: string, value: unknown, signal?: AbortSignal): Promise<Response> {
    const res = await this.#call({
      kind: 'agent',
      method,
      path,
      body: Buffer.from(JSON.stringify(value)),
      headers: [['content-type', 'application/json']],
      signal,
    });
    if (res.status === 429) {
      const retry = Number(res.headers.get('retry-after') ?? '1');
      throw new SphyrRateLimitError('rate_limited', 'the gateway is rate limiting this agent', retry);
    }
    return res;
  }

  async #call(call: Call, retried: { skew?: boolean; agent?: boolean } = {}): Promise<Response> {
    const res = await this.#send(call);
    const outcome = res.headers.get('sphyr-outcome');
    if (outcome === 'allowed' || outcome === 'rate_limited') return res;
    if (outcome === null) {
      throw new SphyrNetworkError(
        'gateway_bad_response',
        `${this.gatewayUrl} answered HTTP ${res.status} without a Sphyr-Outcome header; is SPHYR_GATEWAY_URL a Sphyr gateway?`,
      );
    }
    const error = await errorFrom(res, outcome);
    if (error.code === 'clock_skew' && !retried.skew) {
      const serverDate = Date.parse(res.headers.get('date') ?? '');
      if (!Number.isNaN(serverDate)) this.#offsetMs = serverDate - this.#now();
      return this.#call(call, { ...retried, skew: true });
    }
    if (error.code === 'agent_expired' && call.kind !== 'register' && !retried.agent) {
      this.#agentId = undefined;
      return this.#call(call, { ...retried, agent: true });
    }
    throw error;
  }

  async #send(call: Call): Promise<Response> {
    const agentId = call.kind === 'register' ? undefined : await this.agentId();
    const url = new URL(call.path, this.gatewayUrl);
    const digest = contentDigest(call.body);
    const signed = signRequest({
      kind: call.kind,
      facts: {
        method: call.method,
        authority: url.host,
        path: url.pathname,
        query: url.search === '' ? '?' : url.search,
        targetUri: call.targetUri,
        contentDigest: digest,
        agentId,
      },
      keyId: this.#credential.keyId,
      key: this.#credential.secret,
      nowSeconds: Math.floor((this.#now() + this.#offsetMs) / 1000),
    });
    const headers = new Headers();
    for (const [name, value] of call.headers ?? []) {
      if (!OWN_HEADERS.test(name)) headers.append(name, value);
    }
    headers.set('content-digest', digest);
    headers.set('signature-input', signed.signatureInput);
    headers.set('signature', signed.signature);
    if (agentId) headers.set('sphyr-agent-id', agentId);
    if (call.targetUri) headers.set('sphyr-target-uri', call.targetUri);
    const hasBody = call.body.byteLength > 0 || !['GET', 'HEAD'].includes(call.method);
    try {
      return await this.#fetch(url, {
        method: call.method,
        headers,
        body: hasBody && call.method !== 'GET' && call.method !== 'HEAD' ? call.body : undefined,
        redirect: 'manual',
        signal: call.signal,
      });
    } catch (error) {
      if (call.signal?.aborted) throw call.signal.reason;
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new SphyrNetworkError(
        'gateway_unreachable',
        `cannot reach the Sphyr gateway at ${this.gatewayUrl} (${cause?.code ?? (error as Error).message}); nothing was sent to the target`,
        { cause: error },
      );
    }
  }
}

async function errorFrom(res: Response, outcome: string): Promise<SphyrError> {
  let code = 'gateway_error';
  let message = `the gateway answered HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // A body that is not our JSON keeps the generic message.
  }
  if (outcome === 'unauthorized') return new SphyrAuthError(code, message);
  if (outcome === 'blocked') return new SphyrPolicyError(code, message);
  if (res.status >= 400 && res.status < 500) return new SphyrRequestError(code, message);
  return new SphyrNetworkError(code, message);
}
