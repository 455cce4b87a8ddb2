import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';

const BIN = path.join(ROOT, 'bin', 'sphyr-mcp.js');
const STUBBORN = path.join(ROOT, 'fixtures', 'mcp', 'stubborn-server.mjs');
/** The bound: after any way of ending sphyr-mcp, nothing of its tree is left after this. */
const GONE_WITHIN_MS = 10_000;

let gw: TestGateway;
let home: string;
beforeAll(async () => {
  gw = await startTestGateway('{"rateLimits": {"perAgent": 1000}}');
  home = await tempDir('sphyr-home-');
});
afterAll(async () => {
  await gw?.close();
  await rm(home, { recursive: true, force: true });
});

type Message = { id?: string | number | null; method?: string; result?: unknown; error?: unknown };

/** sphyr-mcp in wrap mode spoken to line by line, as an IDE does, so the test owns stdin and signals. */
class Session {
  readonly messages: Message[] = [];
  stderr = '';
  #out = '';
  #nextId = 1;
  readonly marker = randomUUID();
  readonly proc: ChildProcess;

  constructor(env: Record<string, string>, args: string[] = [], upstreamArgs: string[] = []) {
    this.proc = spawn(process.execPath, [BIN, ...args, '--', process.execPath, STUBBORN, ...upstreamArgs], {
      // Every process started from here inherits this variable: the test finds the tree by it.
      env: { PATH: process.env.PATH ?? '', SPHYR_TEST_TREE: this.marker, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stdin?.on('error', () => {});
    this.proc.stderr?.on('data', (c) => {
      this.stderr += c;
    });
    this.proc.stdout?.on('data', (c) => {
      this.#out += c;
      for (let nl = this.#out.indexOf('\n'); nl !== -1; nl = this.#out.indexOf('\n')) {
        this.messages.push(JSON.parse(this.#out.slice(0, nl)));
        this.#out = this.#out.slice(nl + 1);
      }
    });
  }

  send(message: object): void {
    this.proc.stdin?.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  }

  request(method: string, params: object = {}): number {
    const id = this.#nextId++;
    this.send({ id, method, params });
    return id;
  }

  async response(id: number): Promise<Message> {
    return until(`the response to ${id}`, () => this.messages.find((m) => m.id === id));
  }

  async call(method: string, params: object = {}): Promise<Message> {
    return this.response(this.request(method, params));
  }

  async initialize(): Promise<void> {
    await this.call('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'shutdown-test', version: '1' },
    });
    this.send({ method: 'notifications/initialized' });
  }

  /** Wait until the upstream has the request (it says so on stderr, which sphyr-mcp passes on). */
  async upstreamGot(id: number): Promise<void> {
    await until(`the upstream to get ${id}`, () =>
      this.stderr.includes(`got request ${id}\n`) ? true : undefined,
    );
  }

  /** The upstream's pid and its grandchild's, from the fixture's `pids` tool. */
  async upstreamPids(): Promise<{ pid: number; grandchild: number }> {
    const res = await this.call('tools/call', { name: 'pids', arguments: {} });
    const text = (res.result as { content: Array<{ text: string }> }).content[0]?.text ?? '';
    return JSON.parse(text);
  }
}

async function until<T>(what: string, probe: () => T | undefined, ms = 15_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Proc {
  pid: number;
  pgid: number;
  cmdline: string;
  marked: boolean;
}

/** Every live (not zombie) process we can read, from /proc. */
function processes(marker: string): Proc[] {
  const found: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') continue;
      let marked = false;
      try {
        marked = readFileSync(`/proc/${name}/environ`, 'latin1').includes(`SPHYR_TEST_TREE=${marker}`);
      } catch {
        // another user's process
      }
      found.push({
        pid: Number(name),
        pgid: Number(fields[2]),
        cmdline: readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' '),
        marked,
      });
    } catch {
      // gone while we looked
    }
  }
  return found;
}

/**
 * The whole tree of a session: sphyr-mcp, the upstream, its grandchild (all carry the marker), and
 * anything in the upstream's process group or in a group led by a process that names the upstream's
 * pid (a watchdog, whatever it is called).
 */
function tree(s: Session, upstream: number): Proc[] {
  const all = processes(s.marker);
  const leaders = new Set([upstream]);
  for (const p of all) {
    if (p.pid === p.pgid && p.cmdline.split(' ').includes(String(upstream))) leaders.add(p.pid);
  }
  return all.filter((p) => p.marked || leaders.has(p.pgid) || p.pid === s.proc.pid);
}

async function nothingLeft(s: Session, upstream: number): Promise<void> {
  const end = Date.now() + GONE_WITHIN_MS;
  let left = tree(s, upstream);
  while (left.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    left = tree(s, upstream);
  }
  expect(left.map((p) => `${p.pid} ${p.cmdline}`)).toEqual([]);
}

const sessions: Session[] = [];
afterAll(async () => {
  // Let every session stop its upstream the ordinary way (the cancel tests do not wait for it)...
  await Promise.all(
    sessions.map((s) => {
      if (s.proc.exitCode !== null || s.proc.signalCode !== null) return undefined;
      s.proc.stdin?.end();
      return new Promise((resolve) => {
        s.proc.once('exit', resolve);
        setTimeout(resolve, GONE_WITHIN_MS);
      });
    }),
  );
  // ...then remove whatever a failed test left behind.
  for (const s of sessions) {
    for (const p of processes(s.marker).filter((p) => p.marked)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {}
    }
  }
});

function session(
  args: string[] = [],
  env: Record<string, string> = {},
  upstreamArgs: string[] = [],
): Session {
  const s = new Session(
    {
      HOME: home,
      SPHYR_GATEWAY_URL: gw.gateway.url,
      SPHYR_CREDENTIAL: gw.credential.reveal(),
      ...env,
    },
    args,
    upstreamArgs,
  );
  sessions.push(s);
  return s;
}

describe('sphyr-mcp leaves nothing running', () => {
  const endings: Array<[string, (s: Session) => void]> = [
    ['the end of its stdin', (s) => s.proc.stdin?.end()],
    ['SIGTERM', (s) => s.proc.kill('SIGTERM')],
    ['SIGINT', (s) => s.proc.kill('SIGINT')],
    ['SIGHUP', (s) => s.proc.kill('SIGHUP')],
    // No handler runs: what cleans up must live outside sphyr-mcp.
    ['SIGKILL', (s) => s.proc.kill('SIGKILL')],
  ];
  it.each(endings)(
    'after %s, a stubborn upstream and its grandchild are gone within 10 s',
    async (_, end) => {
      const s = session();
      await s.initialize();
      const { pid, grandchild } = await s.upstreamPids();
      const before = tree(s, pid).map((p) => p.pid);
      expect(before).toEqual(expect.arrayContaining([s.proc.pid, pid, grandchild]));
      end(s);
      await nothingLeft(s, pid);
    },
  );

  it('clears what an upstream that exited on its own left behind, while it keeps serving', async () => {
    const s = session();
    await s.initialize();
    const first = await s.upstreamPids();
    s.request('tools/call', { name: 'exit_later', arguments: { ms: 0 } });
    await until('the upstream to exit', () => (s.stderr.includes('exited (code 7)') ? true : undefined));
    const end = Date.now() + GONE_WITHIN_MS;
    while (Date.now() < end && processes(s.marker).some((p) => p.pid === first.grandchild)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(processes(s.marker).map((p) => p.pid)).not.toContain(first.grandchild);
    // The next request starts a new upstream.
    const second = await s.upstreamPids();
    expect(second.pid).not.toBe(first.pid);
    s.proc.stdin?.end();
    await nothingLeft(s, second.pid);
  });
});

/** The roles (named in a comment that ends the command line) of the session’s processes that run now. */
function roles(s: Session): string[] {
  return processes(s.marker).flatMap((p) =>
    p.marked ? (/\/\* stubborn:([\w-]+) \*\/ ?$/.exec(p.cmdline)?.[1] ?? []) : [],
  );
}

/** Wait until the --escape processes run, and `orphan` has lost its parent (reparented away). */
async function escaped(s: Session): Promise<void> {
  await until('the escaped processes', () => {
    const now = roles(s);
    const running = ['detached', 'daemon', 'orphan'].every((role) => now.includes(role));
    return running && !now.includes('orphan-parent') ? true : undefined;
  });
}

describe('sphyr-mcp leaves nothing running, even what left the upstream’s group and session', () => {
  const endings: Array<[string, (s: Session) => void]> = [
    ['the end of its stdin', (s) => s.proc.stdin?.end()],
    ['SIGTERM', (s) => s.proc.kill('SIGTERM')],
    // Only the watchdog is left to find them.
    ['SIGKILL', (s) => s.proc.kill('SIGKILL')],
  ];
  it.each(endings)(
    'after %s, detached and setsid’ed descendants, orphaned or not, are gone within 10 s',
    async (_, end) => {
      const s = session([], {}, ['--escape']);
      await s.initialize();
      const { pid } = await s.upstreamPids();
      await escaped(s);
      end(s);
      await nothingLeft(s, pid);
    },
  );

  it('after the end of its stdin, also what an upstream that exits at once left behind', async () => {
    // The upstream is gone before any signal: what it started can only be found by having been seen.
    const s = session([], {}, ['--escape', '--polite']);
    await s.initialize();
    const { pid } = await s.upstreamPids();
    await escaped(s);
    s.proc.stdin?.end();
    await nothingLeft(s, pid);
  });

  it('clears the detached descendants of an upstream that exited on its own', async () => {
    const s = session([], {}, ['--escape']);
    await s.initialize();
    const { pid } = await s.upstreamPids();
    await escaped(s);
    s.request('tools/call', { name: 'exit_later', arguments: { ms: 0 } });
    await until('the upstream to exit', () => (s.stderr.includes('exited (code 7)') ? true : undefined));
    const end = Date.now() + GONE_WITHIN_MS;
    while (Date.now() < end && roles(s).length > 0) await new Promise((r) => setTimeout(r, 100));
    expect(roles(s)).toEqual([]);
    expect(s.proc.exitCode).toBe(null);
    s.proc.stdin?.end();
    await nothingLeft(s, pid);
  });
});

describe('a cancelled request gets no response, whatever happens after', () => {
  it('drops the answer an upstream sends after the client cancelled', async () => {
    const s = session();
    await s.initialize();
    const id = s.request('tools/call', { name: 'late', arguments: { ms: 300 } });
    await s.upstreamGot(id);
    s.send({ method: 'notifications/cancelled', params: { requestId: id, reason: 'user' } });
    await until('the late answer', () => (s.stderr.includes(`answered request ${id}\n`) ? true : undefined));
    // sphyr-mcp relays upstream lines in order: once this answer is here, the late one was handled.
    expect((await s.call('ping')).result).toEqual({});
    expect(s.messages.filter((m) => m.id === id)).toEqual([]);
    // The cancellation itself still reached the upstream.
    expect(s.stderr).toContain(`ignoring the cancellation of request ${id}`);
    s.proc.stdin?.end();
  });

  it('sends no error for a cancelled request when the upstream exits, but does for the others', async () => {
    const s = session();
    await s.initialize();
    const waiting = s.request('tools/call', { name: 'late', arguments: { ms: 60_000 } });
    const cancelled = s.request('tools/call', { name: 'exit_later', arguments: { ms: 500 } });
    await s.upstreamGot(cancelled);
    s.send({ method: 'notifications/cancelled', params: { requestId: cancelled } });
    const other = await s.response(waiting);
    expect(other.error).toMatchObject({ message: 'the upstream MCP server exited' });
    expect(s.messages.filter((m) => m.id === cancelled)).toEqual([]);
    expect((await s.call('ping')).result).toEqual({});
    expect(s.messages.filter((m) => m.id === cancelled)).toEqual([]);
    s.proc.stdin?.end();
  });

  it.each([
    ['refuses it (fail closed)', []],
    ['lets it through (--fail-open)', ['--fail-open']],
  ])(
    'answers nothing for a call cancelled while it waited for the gateway, which then %s',
    async (_, args) => {
      // A gateway that accepts connections and never answers: the check gives up after 5 s.
      const held: net.Socket[] = [];
      const silent = net.createServer((socket) => held.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = (silent.address() as net.AddressInfo).port;
      try {
        const s = session(args, { SPHYR_GATEWAY_URL: `http://127.0.0.1:${port}` });
        await s.initialize();
        const id = s.request('tools/call', { name: 'pids', arguments: {} });
        s.send({ method: 'notifications/cancelled', params: { requestId: id } });
        // Requests are handled in order: this answer comes after the check of the cancelled call ended.
        expect((await s.call('ping')).result).toEqual({});
        expect(s.messages.filter((m) => m.id === id)).toEqual([]);
        // Cancelled before it was sent: the upstream never saw it.
        expect(s.stderr).not.toContain(`got request ${id}\n`);
        s.proc.stdin?.end();
      } finally {
        for (const socket of held) socket.destroy();
        silent.close();
      }
    },
  );
});
