/**
 * @module The handshake half of `sphyr guard doctor`: launch a configured MCP server exactly as
 * its client would (command, args, env) and check that it answers `initialize` and `tools/list`.
 */

import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { VERSION } from '../version.js';

/** What a tool call after the handshake answered (doctor asks sphyr-mcp's check_url). */
export interface CallResult {
  isError: boolean;
  /** The text content, redacted. */
  text: string;
  structured?: Record<string, unknown>;
}

export interface HandshakeResult {
  ok: boolean;
  serverName?: string;
  serverVersion?: string;
  tools?: string[];
  /** Present when a call was asked for and the server offers that tool. */
  call?: CallResult;
  reason?: string;
  stderrTail?: string;
  ms: number;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const STDERR_TAIL = 2048;
/** How long a server gets to exit on its own once stdin closes, before SIGKILL. */
const CLOSE_GRACE_MS = 500;
const CREDENTIAL = /sphyr\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+/g;

/** Windows env names are case-insensitive; elsewhere `Path` and `PATH` are different variables. */
function envKey(name: string): string {
  return process.platform === 'win32' ? name.toUpperCase() : name;
}

/** Env a client gives the server: the allowlisted names taken from `parentEnv` (when set), then the entry's env on top. */
export function clientEnv(
  allowlist: readonly string[],
  parentEnv: Readonly<Record<string, string | undefined>>,
  entryEnv: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of allowlist) {
    // process.env is case-insensitive on Windows; a plain copy of it is not.
    const value =
      parentEnv[name] ??
      Object.entries(parentEnv).find(([k]) => k !== name && envKey(k) === envKey(name))?.[1];
    if (value !== undefined) out[name] = value;
  }
  for (const [name, value] of Object.entries(entryEnv)) {
    // Drop a differently-cased twin on Windows so the entry's value is the one the child sees.
    for (const k of Object.keys(out)) if (k !== name && envKey(k) === envKey(name)) delete out[k];
    out[name] = value;
  }
  return out;
}

/**
 * The `env` to hand StdioClientTransport so the child gets exactly `env`: the transport spreads
 * getDefaultEnvironment() under whatever we pass, so each default name we do not set is
 * overridden with `undefined`, which child_process.spawn skips.
 */
function exactSpawnEnv(env: Record<string, string>): Record<string, string> {
  const defaults = Object.keys(getDefaultEnvironment());
  const out: Record<string, string | undefined> = {};
  for (const name of defaults) out[name] = undefined;
  for (const [name, value] of Object.entries(env)) {
    // Reuse the default's spelling on Windows: spawn keeps only the first of case-twins (sorted).
    out[defaults.find((d) => envKey(d) === envKey(name)) ?? name] = value;
  }
  return out as Record<string, string>;
}

/** Hide Sphyr credentials: the pattern anywhere, plus the bare secret of any credential in `env`. */
function redactor(env: Record<string, string>): (text: string) => string {
  const secrets = new Set<string>();
  for (const value of Object.values(env)) {
    for (const m of value.matchAll(CREDENTIAL)) {
      const secret = m[0].slice(m[0].lastIndexOf('.') + 1);
      if (secret.length >= 8) secrets.add(secret);
    }
  }
  return (text) => {
    let out = text.replace(CREDENTIAL, 'sphyr.$1.***');
    for (const secret of secrets) out = out.split(secret).join('***');
    return out;
  };
}

/** StdioClientTransport that keeps hold of its child, whose exit code the SDK does not surface. */
class ObservedTransport extends StdioClientTransport {
  child: ChildProcess | undefined;

  override async start(): Promise<void> {
    const started = super.start();
    // `_process` is private in the SDK's types but set synchronously by start(); the transport
    // forgets it on close, which is exactly when we need the exit code.
    this.child = (this as unknown as { _process?: ChildProcess })._process;
    return started;
  }
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function spawnReason(err: NodeJS.ErrnoException, command: string, cwd: string | undefined): string {
  const code = err.code ?? 'error';
  if (code === 'ENOENT') {
    // spawn says ENOENT for a missing cwd and for a missing #! interpreter, not only a missing command.
    if (cwd !== undefined && !existsSync(cwd)) return `working directory not found: ${cwd} (spawn ENOENT)`;
    if (path.isAbsolute(command) && existsSync(command)) {
      return `cannot run ${command} (spawn ENOENT) — the interpreter on its #! line was not found`;
    }
    if (path.isAbsolute(command)) return `command not found: ${command} (spawn ENOENT) — no such file`;
    return `command not found: ${command} (spawn ENOENT) — use an absolute path; GUI apps do not see your shell PATH`;
  }
  if (code === 'EACCES') return `permission denied: ${command} (spawn EACCES) — is it executable?`;
  return `could not start ${command} (spawn ${code}): ${err.message}`;
}

function exitReason(child: ChildProcess | undefined, phase: string): string {
  const code = child?.exitCode;
  const signal = child?.signalCode;
  if (typeof code === 'number') {
    const hint = code === 127 ? ' (127: a command in its launch chain was not found)' : '';
    return `the server exited with code ${code} before answering ${phase}${hint}`;
  }
  if (signal) return `the server was killed by ${signal} before answering ${phase}`;
  return `the server closed its stdout before answering ${phase}`;
}

/** Close politely (stdin EOF), then SIGKILL whatever is still running after a short grace. */
async function stop(transport: ObservedTransport): Promise<void> {
  const child = transport.child;
  // Not awaited: close() waits up to 4 s before escalating on its own; we escalate sooner.
  void transport.close().catch(() => {});
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timer = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
  await Promise.race([exited, timer(CLOSE_GRACE_MS)]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await Promise.race([exited, timer(CLOSE_GRACE_MS)]);
  }
}

/** Launch like the client and run initialize + tools/list. Never throws; never hangs past timeoutMs (default 20000). Kills the child afterwards. */
export async function handshake(
  launch: { command: string; args: string[]; env: Record<string, string>; cwd?: string },
  options: { timeoutMs?: number; call?: { name: string; arguments: Record<string, unknown> } } = {},
): Promise<HandshakeResult> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const redact = redactor(launch.env);

  let stderr = '';
  let stdoutError: string | undefined;
  let phase: 'initialize' | 'tools/list' | 'tools/call' = 'initialize';
  let transport: ObservedTransport | undefined;

  const finish = async (result: Omit<HandshakeResult, 'ms' | 'stderrTail'>): Promise<HandshakeResult> => {
    // Time to the verdict; shutting the server down afterwards is not the server's latency.
    const ms = Date.now() - started;
    if (transport) await stop(transport).catch(() => {});
    // Let the stderr pipe drain what the child wrote just before it went away.
    await new Promise((resolve) => setImmediate(resolve));
    // Redact before trimming so a credential is never cut into an unrecognisable half.
    const tail = redact(stderr).slice(-STDERR_TAIL);
    return {
      ...result,
      ...(result.reason === undefined ? {} : { reason: redact(result.reason) }),
      ...(tail.trim() === '' ? {} : { stderrTail: tail }),
      ms,
    };
  };

  let timer: NodeJS.Timeout | undefined;
  try {
    transport = new ObservedTransport({
      command: launch.command,
      args: launch.args,
      env: exactSpawnEnv(launch.env),
      stderr: 'pipe',
      ...(launch.cwd === undefined ? {} : { cwd: launch.cwd }),
    });
    // A decoder, so a UTF-8 character split across chunks is not mangled.
    const decoder = new StringDecoder('utf8');
    transport.stderr?.on('data', (chunk: Buffer | string) => {
      // Keep a margin beyond the tail so redaction sees whole credentials.
      stderr = (stderr + (typeof chunk === 'string' ? chunk : decoder.write(chunk))).slice(-4 * STDERR_TAIL);
    });
    const client = new Client({ name: 'sphyr-doctor', version: VERSION }, { capabilities: {} });
    client.onerror = (err) => {
      // The SDK reports a non-JSON stdout line here and otherwise ignores it: the classic
      // "server logs to stdout" bug, worth naming when nothing else answers.
      if (stdoutError === undefined && (err instanceof SyntaxError || err.name.includes('ZodError'))) {
        stdoutError = err.message.split('\n')[0]?.slice(0, 200);
      }
    };

    // The SDK's own request timeout stays longer so ours is the one that fires, naming the phase.
    const requestOptions = { timeout: timeoutMs + 5_000 };
    const work = (async () => {
      await client.connect(transport, requestOptions);
      phase = 'tools/list';
      const { tools } = await client.listTools(undefined, requestOptions);
      const names = tools.map((t) => t.name);
      const ask = options.call;
      if (!ask || !names.includes(ask.name)) return { info: client.getServerVersion(), tools: names };
      phase = 'tools/call';
      const answer = await client.callTool(
        { name: ask.name, arguments: ask.arguments },
        undefined,
        requestOptions,
      );
      const text = (Array.isArray(answer.content) ? answer.content : [])
        .map((c: { type?: string; text?: string }) => (c.type === 'text' ? (c.text ?? '') : ''))
        .join('\n');
      const call: CallResult = {
        isError: answer.isError === true,
        text: redact(text),
        ...(answer.structuredContent
          ? { structured: answer.structuredContent as Record<string, unknown> }
          : {}),
      };
      return { info: client.getServerVersion(), tools: names, call };
    })();
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });

    const outcome = await Promise.race([work, deadline]).catch((err: unknown) => ({ err }));
    if (outcome === 'timeout') {
      const noise = stdoutError ? `; its stdout carried non-MCP output (${stdoutError}) — log to stderr` : '';
      return await finish({
        ok: false,
        reason: `no answer to ${phase} within ${seconds(timeoutMs)}${noise}`,
      });
    }
    if ('err' in outcome) {
      const err = outcome.err;
      const child = transport.child;
      if (child?.pid === undefined && err instanceof Error && 'code' in err && typeof err.code === 'string') {
        return await finish({
          ok: false,
          reason: spawnReason(err as NodeJS.ErrnoException, launch.command, launch.cwd),
        });
      }
      if (err instanceof McpError && err.code === ErrorCode.ConnectionClosed) {
        return await finish({ ok: false, reason: exitReason(child, phase) });
      }
      const message = err instanceof Error ? err.message : String(err);
      return await finish({ ok: false, reason: `${phase} failed: ${message}` });
    }
    return await finish({
      ok: true,
      ...(outcome.info ? { serverName: outcome.info.name, serverVersion: outcome.info.version } : {}),
      tools: outcome.tools,
      ...('call' in outcome && outcome.call ? { call: outcome.call } : {}),
    });
  } catch (err) {
    // Only a synchronous failure (e.g. spawn throwing on invalid arguments) lands here.
    const message = err instanceof Error ? err.message : String(err);
    return await finish({ ok: false, reason: `could not start ${launch.command}: ${message}` });
  } finally {
    clearTimeout(timer);
  }
}
