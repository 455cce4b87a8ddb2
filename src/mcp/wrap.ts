import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { JSONRPCMessage, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { unreachable } from '../client/gateway-client.js';
import { entropyScore } from '../policy/entropy.js';
import { toolAllowed } from '../policy/tool-policy.js';
import { noteClientName } from './client-name.js';
import type { McpContext } from './context.js';
import { SphyrStdioServerTransport } from './stdio-transport.js';
import { errorResult } from './tool-result.js';
import { UpstreamProcess } from './upstream-process.js';

export interface WrapOptions {
  command: string;
  args: string[];
  toolsAllow: string[];
  toolsDeny: string[];
  /** Env for the child besides our own: SPHYR_* so its outbound HTTP is instrumented. */
  sphyrEnv: Record<string, string>;
  /** Forward tool calls unchecked when the gateway cannot answer (default: refuse them). */
  failOpen: boolean;
}

function timedOut(error: unknown): boolean {
  return (error as Error)?.name === 'TimeoutError';
}

/**
 * The register entry, as an absolute file URL: a bare specifier would resolve from the child's cwd.
 * Resolved by name, so it is this package's own file (self-reference) wherever the bundle put us.
 */
export function registerUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('@sphyr/sdk/register')).href;
}

function withImport(nodeOptions: string | undefined): string {
  const flag = `--import=${registerUrl()}`;
  return nodeOptions?.includes(flag) ? nodeOptions : [nodeOptions, flag].filter(Boolean).join(' ');
}

type Id = string | number;
const MAX_RESTARTS_PER_MINUTE = 3;
/** The issue's bound: a tool call never waits longer than this for the gateway's verdict. */
const TOOL_CHECK_TIMEOUT_MS = 5_000;
/** Stopping takes ~5 s at most (see UpstreamProcess.stop); past this we exit regardless. */
const SHUTDOWN_DEADLINE_MS = 8_000;
const EXIT_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

interface Pending {
  method: string;
  tool?: string;
  args?: string;
  started: number;
  /** The gateway's reason when it let the call pass (`report_…` in report mode). */
  checked?: string;
  /** The upstream it was sent to: only that one's exit fails it. */
  sentTo?: UpstreamProcess;
  /** The IDE cancelled it: nothing for this id goes to the IDE any more (MCP cancellation). */
  cancelled?: boolean;
  reported?: boolean;
}

function isRequest(message: JSONRPCMessage): message is JSONRPCRequest {
  return 'method' in message && 'id' in message;
}

function cancelledId(message: JSONRPCMessage): Id | undefined {
  if (!('method' in message) || message.method !== 'notifications/cancelled') return undefined;
  const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/**
 * Wrap mode: relay JSON-RPC both ways between the IDE and an upstream MCP server, untouched —
 * initialize, capabilities, notifications, progress, cancellation, server→client requests —
 * except that every `tools/call` is checked against the tool lists and reported to the gateway,
 * and that nothing answers a request the IDE cancelled.
 *
 * Ending: the end of stdin, SIGTERM, SIGINT and SIGHUP all take one path — stop every upstream
 * and what it started (UpstreamProcess.stop), then exit. A hard kill is left to the watchdog.
 */
export async function runWrap(ctx: McpContext, options: WrapOptions): Promise<void> {
  const ide = new SphyrStdioServerTransport();
  const pending = new Map<Id, Pending>();
  /** Every upstream not yet stopped, including the remains of one that exited on its own. */
  const upstreams = new Set<UpstreamProcess>();
  let child: UpstreamProcess | undefined;
  let upstream: SphyrStdioServerTransport | undefined;
  // What the IDE said at the start, replayed to a restarted upstream so it is initialized too.
  let initRequest: JSONRPCMessage | undefined;
  let initializedNote: JSONRPCMessage | undefined;
  const restarts: number[] = [];
  let restarting: Promise<void> | undefined;
  let reinitDone: (() => void) | undefined;
  let closing = false;

  /** Answer the IDE for a request of its own, unless it cancelled that request. */
  const answer = (id: Id, message: JSONRPCMessage) => {
    const p = pending.get(id);
    pending.delete(id);
    if (p?.cancelled) {
      ctx.log('debug', `dropped the answer to cancelled request ${id}`);
      return;
    }
    void ide.send(message);
  };

  const startChild = () => {
    const env = { ...process.env, ...options.sphyrEnv, NODE_OPTIONS: withImport(process.env.NODE_OPTIONS) };
    const up = new UpstreamProcess(options.command, options.args, env, (m) => ctx.log('warn', m));
    const proc = up.proc;
    // stdio is ['pipe', 'pipe', …]: both streams exist.
    const transport = new SphyrStdioServerTransport(
      proc.stdout as Readable,
      proc.stdin as Writable,
      undefined,
      false,
    );
    transport.onerror = (error) =>
      ctx.log('warn', `upstream printed something that is not JSON-RPC: ${error.message}`);
    transport.onmessage = (message) => fromUpstream(message);
    proc.once('error', (error) => {
      ctx.log('error', `cannot start ${options.command}: ${error.message}`);
    });
    proc.once('exit', (code, signal) => {
      ctx.log(closing ? 'info' : 'error', `upstream MCP server exited (${signal ?? `code ${code}`})`);
      if (child === up) {
        child = undefined;
        upstream = undefined;
      }
      // Nobody waits forever: every request sent to it gets an error now (unless cancelled).
      for (const [id, p] of pending) {
        if (p.sentTo !== up) continue;
        answer(id, {
          jsonrpc: '2.0',
          id,
          error: { code: -32603, message: 'the upstream MCP server exited' },
        });
      }
      reinitDone?.();
      // What it started may still run in its process group: end that too.
      void up.stop().finally(() => upstreams.delete(up));
    });
    void transport.start();
    upstreams.add(up);
    child = up;
    upstream = transport;
  };

  const report = (p: Pending, outcome: 'allowed' | 'blocked' | 'error', reason: string) => {
    if (!ctx.client || !p.tool || p.reported) return;
    p.reported = true;
    ctx.client
      .reportToolCall({
        tool: p.tool.slice(0, 200),
        argsDigest: `sha-256:${createHash('sha256')
          .update(p.args ?? '')
          .digest('hex')}`,
        entropy: entropyScore(p.args ?? ''),
        outcome,
        reason,
        durationMs: Date.now() - p.started,
      })
      .catch((error) => ctx.log('warn', `could not report a tool call to the gateway: ${error.message}`));
  };

  /** Start the upstream again and replay initialize (bounded: 3 restarts a minute). */
  const restart = async (): Promise<void> => {
    const now = Date.now();
    while (restarts.length && (restarts[0] as number) < now - 60_000) restarts.shift();
    if (restarts.length >= MAX_RESTARTS_PER_MINUTE) {
      throw new Error(
        `the upstream MCP server keeps exiting (${MAX_RESTARTS_PER_MINUTE} restarts in a minute); fix it, then restart this server in the IDE`,
      );
    }
    restarts.push(now);
    ctx.log('warn', `restarting the upstream MCP server (${options.command})`);
    startChild();
    if (initRequest && 'method' in initRequest) {
      const replay = { ...initRequest, id: `sphyr-reinit-${now}` } as JSONRPCMessage;
      await new Promise<void>((resolve) => {
        reinitDone = resolve;
        void upstream?.send(replay);
      });
      reinitDone = undefined;
      if (!upstream) throw new Error('the upstream MCP server exited while restarting');
      if (initializedNote) await upstream.send(initializedNote);
    }
  };

  const fromUpstream = (message: JSONRPCMessage) => {
    if ('id' in message && typeof message.id === 'string' && message.id.startsWith('sphyr-reinit-')) {
      reinitDone?.(); // the restarted upstream's answer to our replayed initialize: not the IDE's business
      return;
    }
    if ('id' in message && ('result' in message || 'error' in message) && message.id !== null) {
      const p = pending.get(message.id as Id);
      if (p?.tool && !p.cancelled) {
        const failed = 'error' in message || (message.result as { isError?: boolean }).isError === true;
        report(p, failed ? 'error' : 'allowed', failed ? 'tool_error' : (p.checked ?? 'allowed'));
      }
      answer(message.id as Id, message);
      return;
    }
    void ide.send(message);
  };

  /** The IDE cancelled a request: from now on nothing answers it (its result is of no use). */
  const cancel = (id: Id) => {
    const p = pending.get(id);
    if (!p || p.cancelled) return;
    p.cancelled = true;
    // Still being checked: the check decides how it is reported. Sent upstream: it ends here.
    if (p.sentTo) report(p, 'error', 'cancelled');
  };

  /** A tool error for a call we refuse to forward; the refusal is reported like any call. */
  const refuse = (id: Id, p: Pending, outcome: 'blocked' | 'error', reason: string, text: string) => {
    report(p, outcome, reason);
    answer(id, { jsonrpc: '2.0', id, result: { isError: true, content: [{ type: 'text', text }] } });
  };

  /**
   * Whether a `tools/call` may go upstream: the command-line lists, then the policy at the gateway.
   * Fails closed: no credential or no answer within 5 s refuses the call unless --fail-open.
   */
  const admitTool = async (id: Id, p: Pending): Promise<boolean> => {
    const tool = p.tool as string;
    if (!toolAllowed(tool, options.toolsAllow, options.toolsDeny)) {
      refuse(
        id,
        p,
        'blocked',
        'policy_denied_tool',
        `Blocked by Sphyr (policy_denied_tool): the tool "${tool}" is not allowed by this server's --tools-allow/--tools-deny.`,
      );
      return false;
    }
    let problem: unknown = ctx.problem;
    if (ctx.client) {
      try {
        const verdict = await ctx.client.checkTool(tool, AbortSignal.timeout(TOOL_CHECK_TIMEOUT_MS));
        if (verdict.verdict === 'allow') {
          p.checked = verdict.reason;
          return true;
        }
        refuse(
          id,
          p,
          'blocked',
          verdict.reason,
          `Blocked by Sphyr (${verdict.reason}): the tool "${tool}" is not allowed by the gateway's policy.`,
        );
        return false;
      } catch (error) {
        problem = timedOut(error)
          ? unreachable(
              ctx.client.gatewayUrl,
              new Error(`no answer within ${TOOL_CHECK_TIMEOUT_MS / 1000} s`),
            )
          : error;
      }
    }
    if (options.failOpen) {
      ctx.log('warn', `forwarding "${tool}" unchecked (--fail-open): ${(problem as Error)?.message}`);
      return true;
    }
    const result = errorResult(problem);
    report(p, 'error', (problem as { code?: string })?.code ?? 'tool_check_failed');
    answer(id, { jsonrpc: '2.0', id, result });
    return false;
  };

  /** Send to the current upstream; a request cancelled meanwhile is not sent at all. */
  const sendUpstream = async (message: JSONRPCMessage): Promise<void> => {
    if (isRequest(message)) {
      const p = pending.get(message.id);
      if (p?.cancelled) {
        pending.delete(message.id);
        report(p, 'error', 'cancelled');
        return;
      }
      if (!upstream || !child) {
        // It died between its restart and this request: say so rather than leave the IDE waiting.
        answer(message.id, {
          jsonrpc: '2.0',
          id: message.id,
          error: { code: -32603, message: 'the upstream MCP server exited' },
        });
        return;
      }
      if (p) p.sentTo = child;
    }
    await upstream?.send(message);
  };

  const forward = async (message: JSONRPCMessage): Promise<void> => {
    if (closing) return;
    if ('method' in message && message.method === 'initialize' && 'id' in message) initRequest = message;
    if ('method' in message && message.method === 'notifications/initialized') initializedNote = message;
    if (isRequest(message)) {
      const p = pending.get(message.id);
      if (p?.tool !== undefined && !(await admitTool(message.id, p))) return;
    }
    if (!upstream || restarting) {
      restarting ??= restart().finally(() => {
        restarting = undefined;
      });
      restarting.then(
        () => sendUpstream(message),
        (error: Error) => {
          ctx.log('error', error.message);
          if (isRequest(message)) {
            answer(message.id, {
              jsonrpc: '2.0',
              id: message.id,
              error: { code: -32603, message: error.message },
            });
          }
        },
      );
      return;
    }
    await sendUpstream(message);
  };

  /** The one way out: stop every upstream and what it started, then exit. */
  const shutdown = async (why: string, code: number) => {
    if (closing) return;
    closing = true;
    ctx.log('info', `stopping (${why}): ending the upstream MCP server`);
    setTimeout(() => process.exit(code), SHUTDOWN_DEADLINE_MS).unref();
    void ide.close();
    // Answers a well-behaved upstream sends while it winds down still reach the IDE.
    await Promise.all([...upstreams].map((up) => up.stop()));
    process.exit(code);
  };
  for (const signal of EXIT_SIGNALS) {
    process.on(signal, () => void shutdown(signal, 128 + os.constants.signals[signal]));
  }
  // The IDE went away without closing our stdin first (EPIPE): the same way out.
  process.stdout.on('error', () => void shutdown('stdout closed', 0));

  ide.onerror = (error) => ctx.log('warn', `ignored a malformed message: ${error.message}`);
  ide.onclose = () => void shutdown('end of input', 0);

  // One at a time, in order: a cancellation must not overtake the call it cancels while that call
  // waits for its policy check. What a request is, and that it was cancelled, is noted on arrival,
  // so a cancellation takes effect at once even while its call still waits.
  let queue = Promise.resolve();
  ide.onmessage = (message) => {
    if (closing) return;
    noteClientName(ctx, message);
    if (isRequest(message)) {
      const p: Pending = { method: message.method, started: Date.now() };
      if (message.method === 'tools/call') {
        const params = (message.params ?? {}) as { name?: string; arguments?: unknown };
        p.tool = String(params.name ?? '');
        p.args = JSON.stringify(params.arguments ?? {});
      }
      pending.set(message.id, p);
    }
    const cancelled = cancelledId(message);
    if (cancelled !== undefined) cancel(cancelled);
    queue = queue.then(
      () => forward(message),
      () => forward(message),
    );
  };
  startChild();
  await ide.start();
}
