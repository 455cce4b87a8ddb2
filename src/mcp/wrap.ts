import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { unreachable } from '../client/gateway-client.js';
import { entropyScore } from '../policy/entropy.js';
import { toolAllowed } from '../policy/tool-policy.js';
import type { McpContext } from './context.js';
import { SphyrStdioServerTransport } from './stdio-transport.js';
import { errorResult } from './tool-result.js';

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

function needsWindowsShell(command: string): boolean {
  return process.platform === 'win32' && !/\.(exe|com)$/i.test(command);
}

function quoteForCmd(arg: string): string {
  return /[\s"&|<>^]/.test(arg) ? `"${arg.replace(/"/g, '""')}"` : arg;
}

function timedOut(error: unknown): boolean {
  return (error as Error)?.name === 'TimeoutError';
}

/** The register entry, as an absolute file URL: a bare specifier would resolve from the child's cwd. */
export function registerUrl(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return pathToFileURL(path.join(here, '..', 'sdk', 'register.js')).href;
}

function withImport(nodeOptions: string | undefined): string {
  const flag = `--import=${registerUrl()}`;
  return nodeOptions?.includes(flag) ? nodeOptions : [nodeOptions, flag].filter(Boolean).join(' ');
}

type Id = string | number;
const MAX_RESTARTS_PER_MINUTE = 3;
/** The issue's bound: a tool call never waits longer than this for the gateway's verdict. */
const TOOL_CHECK_TIMEOUT_MS = 5_000;
interface Pending {
  method: string;
  tool?: string;
  args?: string;
  started: number;
  /** The gateway's reason when it let the call pass (`report_…` in report mode). */
  checked?: string;
}

/**
 * Wrap mode: relay JSON-RPC both ways between the IDE and an upstream MCP server, untouched —
 * initialize, capabilities, notifications, progress, cancellation, server→client requests —
 * except that every `tools/call` is checked against the tool lists and reported to the gateway.
 */
export async function runWrap(ctx: McpContext, options: WrapOptions): Promise<void> {
  const ide = new SphyrStdioServerTransport();
  const pending = new Map<Id, Pending>();
  let child: ChildProcess | undefined;
  let upstream: SphyrStdioServerTransport | undefined;
  // What the IDE said at the start, replayed to a restarted upstream so it is initialized too.
  let initRequest: JSONRPCMessage | undefined;
  let initializedNote: JSONRPCMessage | undefined;
  const restarts: number[] = [];
  let restarting: Promise<void> | undefined;
  let reinitDone: (() => void) | undefined;

  const startChild = () => {
    const env = { ...process.env, ...options.sphyrEnv, NODE_OPTIONS: withImport(process.env.NODE_OPTIONS) };
    // Windows cannot spawn npx.cmd-style shims without a shell; IDEs list them by bare name.
    const proc = needsWindowsShell(options.command)
      ? spawn([options.command, ...options.args].map(quoteForCmd).join(' '), {
          env,
          shell: true,
          stdio: ['pipe', 'pipe', 'inherit'],
        })
      : spawn(options.command, options.args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const transport = new SphyrStdioServerTransport(proc.stdout, proc.stdin, undefined, false);
    transport.onerror = (error) =>
      ctx.log('warn', `upstream printed something that is not JSON-RPC: ${error.message}`);
    transport.onmessage = (message) => fromUpstream(message);
    proc.stdin.on('error', () => {}); // a dead child's stdin: reported through 'exit'
    proc.once('error', (error) => {
      ctx.log('error', `cannot start ${options.command}: ${error.message}`);
    });
    proc.once('exit', (code, signal) => {
      ctx.log('error', `upstream MCP server exited (${signal ?? `code ${code}`})`);
      child = undefined;
      upstream = undefined;
      // Nobody waits forever: every request the IDE sent upstream gets an error now.
      for (const [id] of pending) {
        void ide.send({
          jsonrpc: '2.0',
          id,
          error: { code: -32603, message: 'the upstream MCP server exited' },
        });
      }
      pending.clear();
      reinitDone?.();
    });
    void transport.start();
    child = proc;
    upstream = transport;
  };

  const report = (p: Pending, outcome: 'allowed' | 'blocked' | 'error', reason: string) => {
    if (!ctx.client || !p.tool) return;
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
      pending.delete(message.id as Id);
      if (p?.tool) {
        const failed = 'error' in message || (message.result as { isError?: boolean }).isError === true;
        report(p, failed ? 'error' : 'allowed', failed ? 'tool_error' : (p.checked ?? 'allowed'));
      }
    }
    void ide.send(message);
  };

  ide.onerror = (error) => ctx.log('warn', `ignored a malformed message: ${error.message}`);
  ide.onclose = () => {
    child?.kill();
  };
  /** A tool error for a call we refuse to forward; the refusal is reported like any call. */
  const refuse = (id: Id, p: Pending, outcome: 'blocked' | 'error', reason: string, text: string) => {
    report(p, outcome, reason);
    void ide.send({ jsonrpc: '2.0', id, result: { isError: true, content: [{ type: 'text', text }] } });
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
    void ide.send({ jsonrpc: '2.0', id, result });
    return false;
  };

  const forward = async (message: JSONRPCMessage): Promise<void> => {
    if ('method' in message && message.method === 'initialize' && 'id' in message) initRequest = message;
    if ('method' in message && message.method === 'notifications/initialized') initializedNote = message;
    if ('method' in message && 'id' in message) {
      const p: Pending = { method: message.method, started: Date.now() };
      if (message.method === 'tools/call') {
        const params = (message.params ?? {}) as { name?: string; arguments?: unknown };
        p.tool = String(params.name ?? '');
        p.args = JSON.stringify(params.arguments ?? {});
        if (!(await admitTool(message.id, p))) return;
      }
      pending.set(message.id, p);
    }
    if (!upstream || restarting) {
      restarting ??= restart().finally(() => {
        restarting = undefined;
      });
      restarting.then(
        () => upstream?.send(message),
        (error: Error) => {
          ctx.log('error', error.message);
          if ('id' in message && 'method' in message) {
            pending.delete(message.id);
            void ide.send({
              jsonrpc: '2.0',
              id: message.id,
              error: { code: -32603, message: error.message },
            });
          }
        },
      );
      return;
    }
    await upstream.send(message);
  };

  // One at a time, in order: a cancellation must not overtake the call it cancels while that call
  // waits for its policy check.
  let queue = Promise.resolve();
  ide.onmessage = (message) => {
    queue = queue.then(
      () => forward(message),
      () => forward(message),
    );
  };
  startChild();
  await ide.start();
}
