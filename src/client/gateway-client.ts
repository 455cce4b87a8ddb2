import os from 'node:os';
import type { Credential } from '../config/credential.js';
import {
  isSphyrError,
  SphyrAuthError,
  type SphyrError,
  SphyrNetworkError,
  SphyrPolicyError,
  SphyrRateLimitError,
  SphyrRequestError,
} from '../errors.js';
import { canonicalTargetUri } from '../policy/classify.js';
import { contentDigest, type SignedCallKind, signRequest } from '../signing/index.js';
import { gatewayFailure, gatewayTimeout, unreachable } from './gateway-failure.js';

export interface AgentInfo {
  name: string;
  runtime?: string;
  version?: string;
  host?: string;
  pid?: number;
  /**
   * This agent's stable name on its machine (see agent-instance.ts): registering with the same one
   * again renews the same agent, history and all. Read at each registration, so a caller may learn
   * it after the client is made (sphyr-mcp learns its IDE from the MCP handshake).
   */
  instance?: string | (() => string | undefined);
}

export interface GatewayClientOptions {
  gatewayUrl: string;
  credential: Credential;
  agent: AgentInfo;
  /** The transport: must be an uninstrumented fetch, or requests would loop through the SDK. */
  fetch?: typeof fetch;
  now?: () => number;
  /** How long registration may take before it fails with `gateway_timeout` (15 s by default). */
  registerTimeoutMs?: number;
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

export interface GatewayCall {
  kind: SignedCallKind;
  method: string;
  path: string;
  body: Uint8Array;
  headers?: Iterable<[string, string]>;
  targetUri?: string;
  signal?: AbortSignal;
  /** `signal` is our own time limit, not the caller's: its expiry means the gateway did not answer. */
  ownTimeout?: boolean;
}

/**
 * How long registration may take. Longer than undici's 10 s connect timeout, so a gateway that never
 * takes the connection is still `gateway_unreachable`; one that took it and stays silent is
 * `gateway_timeout`.
 */
const REGISTER_TIMEOUT_MS = 15_000;

/** One signed attempt, ready for a transport: the gateway URL and every header to send. */
export interface SignedCall {
  url: URL;
  headers: Array<[string, string]>;
}

/** The status and headers of a gateway answer, however the transport holds them. */
export interface ResponseHead {
  status: number;
  header(name: string): string | null;
}

/**
 * How one HTTP library sends a signed call (fetch, an undici dispatch, axios, node:http): the relay
 * driver's only tie to it. Each transport is a thin adapter; the loop lives in `GatewayClient.drive`.
 */
export interface GatewayTransport<R> {
  /**
   * Send one attempt, and settle once the answer's head is known. A transport that streams a passing
   * answer to its own caller calls `decide(head)` when the head arrives: true means "pass it on".
   */
  send(call: SignedCall, decide: (head: ResponseHead) => boolean): Promise<R>;
  head(res: R): ResponseHead;
  /** The body of a refusal, as text. */
  text(res: R): Promise<string>;
  /** Is this the caller's own timeout or abort? Then it is rethrown exactly as the library made it. */
  callerAborted(error: unknown): boolean;
}

/** A gateway answer that is the target's (`allowed`) or a rate limit the caller handles (`rate_limited`). */
function passes(head: ResponseHead): boolean {
  const outcome = head.header('sphyr-outcome');
  return outcome === 'allowed' || outcome === 'rate_limited';
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
  readonly #registerTimeoutMs: number;
  #offsetMs = 0;
  #agentId: Promise<string> | undefined;

  constructor(options: GatewayClientOptions) {
    this.gatewayUrl = new URL(options.gatewayUrl).origin;
    this.#credential = options.credential;
    this.#agent = options.agent;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#registerTimeoutMs = options.registerTimeoutMs ?? REGISTER_TIMEOUT_MS;
  }

  get keyId(): string {
    return this.#credential.keyId;
  }

  /**
   * Register (once, shared by concurrent callers) and return the agent id. A caller's `signal`
   * stops its own wait; the shared registration has its own time limit, so nobody waits forever on
   * a gateway that accepts connections and never answers.
   */
  agentId(signal?: AbortSignal): Promise<string> {
    this.#agentId ??= this.#register().catch((error) => {
      this.#agentId = undefined;
      throw error;
    });
    if (!signal) return this.#agentId;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#agentId?.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async #register(): Promise<string> {
    const { instance } = this.#agent;
    const info = {
      name: this.#agent.name,
      runtime: this.#agent.runtime ?? `node ${process.versions.node}`,
      version: this.#agent.version ?? 'unknown',
      host: this.#agent.host ?? os.hostname(),
      pid: this.#agent.pid ?? process.pid,
      instance: (typeof instance === 'function' ? instance() : instance) ?? undefined,
    };
    const res = await this.#call({
      kind: 'register',
      method: 'POST',
      path: '/v1/agents',
      body: Buffer.from(JSON.stringify(info)),
      headers: [['content-type', 'application/json']],
      signal: AbortSignal.timeout(this.#registerTimeoutMs),
      ownTimeout: true,
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

  /** The policy's verdict on an MCP tool call, asked before it is forwarded (not logged by itself). */
  async checkTool(tool: string, signal?: AbortSignal): Promise<Verdict> {
    const res = await this.#json('POST', '/v1/check', { tool }, signal);
    return (await res.json()) as Verdict;
  }

  /** The key this client signs with, as the gateway knows it. */
  async whoami(signal?: AbortSignal): Promise<{ keyId: string; keyName: string; createdAt: string }> {
    const res = await this.#call({
      kind: 'register',
      method: 'GET',
      path: '/v1/whoami',
      body: new Uint8Array(),
      signal,
    });
    return (await res.json()) as { keyId: string; keyName: string; createdAt: string };
  }

  /** Revoke this client's own key at the gateway (`sphyr logout`). */
  async revokeSelf(signal?: AbortSignal): Promise<void> {
    await this.#call({
      kind: 'register',
      method: 'POST',
      path: '/v1/keys/self/revoke',
      body: new Uint8Array(),
      signal,
    });
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

  #call(call: GatewayCall): Promise<Response> {
    return this.drive(call, this.#fetchTransport(call));
  }

  /**
   * The one relay driver (DESIGN §3.2-3.3), for every transport: sign, send, and read the answer. A
   * pass goes back to the caller (`onPass` sees its head first); a refusal becomes its error class,
   * after one retry where one can succeed (`clock_skew`: clock corrected; `agent_expired`: agent
   * registered again). A send that fails is the caller's own abort (rethrown as it is), or a gateway
   * failure: `gateway_unreachable` only when nothing reached the gateway. `call.signal` is the
   * caller's for the whole call: registration waits on it, and once it has fired nothing is sent.
   */
  async drive<R>(
    call: GatewayCall,
    transport: GatewayTransport<R>,
    onPass?: (head: ResponseHead) => void,
  ): Promise<R> {
    const retried: { skew?: boolean; agent?: boolean } = {};
    for (;;) {
      const signed = await this.#prepare(call);
      stopIfCancelled(call);
      let passed: boolean | undefined;
      const decide = (head: ResponseHead): boolean => {
        if (passed === undefined) {
          passed = passes(head);
          if (passed) onPass?.(head);
        }
        return passed;
      };
      let res: R;
      let text: string;
      try {
        res = await transport.send(signed, decide);
        if (decide(transport.head(res))) return res;
        text = await transport.text(res);
      } catch (error) {
        if (transport.callerAborted(error) || isSphyrError(error)) throw error;
        if (call.signal?.aborted && !call.ownTimeout) throw call.signal.reason;
        throw gatewayFailure(this.gatewayUrl, error);
      }
      const head = transport.head(res);
      const verdict = this.#learnFrom(
        head.status,
        head.header('sphyr-outcome'),
        text,
        head.header('date'),
        call.kind,
      );
      if (!verdict.retry || retried[verdict.retry]) throw verdict.error;
      retried[verdict.retry] = true;
    }
  }

  /** This client's own transport: the uninstrumented fetch it was given. */
  #fetchTransport(call: GatewayCall): GatewayTransport<Response> {
    const hasBody = call.method !== 'GET' && call.method !== 'HEAD';
    return {
      send: async ({ url, headers }) => {
        try {
          return await this.#fetch(url, {
            method: call.method,
            headers,
            body: hasBody ? call.body : undefined,
            redirect: 'manual',
            signal: call.signal,
          });
        } catch (error) {
          // Our own time limit (registration): the gateway may have the call, so it is not "unreachable".
          if (call.ownTimeout && call.signal?.aborted) {
            throw gatewayTimeout(this.gatewayUrl, 'agent registration', this.#registerTimeoutMs);
          }
          throw error;
        }
      },
      head: (res) => ({ status: res.status, header: (name) => res.headers.get(name) }),
      text: (res) => res.text(),
      callerAborted: () => Boolean(call.signal?.aborted && !call.ownTimeout),
    };
  }

  /**
   * Turn a gateway answer that is not a pass (no `Sphyr-Outcome: allowed`/`rate_limited`) into an
   * error, and learn from it: `clock_skew` sets the clock offset from the gateway's `Date`,
   * `agent_expired` forgets the agent. `retry` says when one more attempt can succeed.
   */
  #learnFrom(
    status: number,
    outcome: string | null,
    bodyText: string,
    date: string | null,
    kind: SignedCallKind = 'relay',
  ): { error: SphyrError; retry?: 'skew' | 'agent' } {
    if (outcome === null) {
      return {
        error: new SphyrNetworkError(
          'gateway_bad_response',
          `${this.gatewayUrl} answered HTTP ${status} without a Sphyr-Outcome header; is SPHYR_GATEWAY_URL a Sphyr gateway?`,
        ),
      };
    }
    const error = errorFrom(status, outcome, bodyText);
    if (error.code === 'clock_skew') {
      const serverDate = Date.parse(date ?? '');
      if (!Number.isNaN(serverDate)) this.#offsetMs = serverDate - this.#now();
      return { error, retry: 'skew' };
    }
    if (error.code === 'agent_expired' && kind !== 'register') {
      this.#agentId = undefined;
      return { error, retry: 'agent' };
    }
    return { error };
  }

  /** The URL and signed headers for one gateway call (registering the agent first when needed). */
  async #prepare(call: GatewayCall): Promise<SignedCall> {
    const agentId = call.kind === 'register' ? undefined : await this.agentId(call.signal);
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
    const headers: Array<[string, string]> = [];
    for (const [name, value] of call.headers ?? []) {
      if (!OWN_HEADERS.test(name)) headers.push([name, value]);
    }
    headers.push(
      ['content-digest', digest],
      ['signature-input', signed.signatureInput],
      ['signature', signed.signature],
    );
    if (agentId) headers.push(['sphyr-agent-id', agentId]);
    if (call.targetUri) headers.push(['sphyr-target-uri', call.targetUri]);
    return { url, headers };
  }
}

export { unreachable };

/** The caller gave up (its signal fired) while the call was being prepared: throw its reason, send nothing. */
function stopIfCancelled(call: GatewayCall): void {
  if (call.signal?.aborted && !call.ownTimeout) throw call.signal.reason;
}

function errorFrom(status: number, outcome: string, bodyText: string): SphyrError {
  let code = 'gateway_error';
  let message = `the gateway answered HTTP ${status}`;
  try {
    const body = JSON.parse(bodyText) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // A body that is not our JSON keeps the generic message.
  }
  if (outcome === 'unauthorized') return new SphyrAuthError(code, message);
  if (outcome === 'blocked') return new SphyrPolicyError(code, message);
  if (status >= 400 && status < 500) return new SphyrRequestError(code, message);
  return new SphyrNetworkError(code, message);
}
