import { type ChildProcess, spawn } from 'node:child_process';

/** How long an upstream gets to exit on its own after its stdin closes, then after SIGTERM. */
const STDIN_GRACE_MS = 2_000;
const TERM_GRACE_MS = 2_000;
/** After SIGKILL: zombies an init that does not reap would keep "alive" must not hold us. */
const KILL_WAIT_MS = 1_000;
const POLL_MS = 50;

const WINDOWS = process.platform === 'win32';

/**
 * Runs in `sh` beside the upstream, in a session of its own, for when sphyr-mcp dies without
 * cleaning up (SIGKILL, a crash): its stdin is a pipe only sphyr-mcp writes. A line means sphyr-mcp
 * stopped the upstream itself; end of input means sphyr-mcp is gone, so it ends the upstream's
 * process group as sphyr-mcp would have ($1 is the group id; stdin already closed with ours).
 */
const WATCHDOG = [
  'read -r _ && exit 0',
  'g="-$1"',
  'sleep 2; kill -s 0 -- "$g" 2>/dev/null || exit 0',
  'kill -s TERM -- "$g" 2>/dev/null',
  'sleep 2; kill -s 0 -- "$g" 2>/dev/null || exit 0',
  'kill -s KILL -- "$g" 2>/dev/null',
].join('\n');

function needsWindowsShell(command: string): boolean {
  return WINDOWS && !/\.(exe|com)$/i.test(command);
}

function quoteForCmd(arg: string): string {
  return /[\s"&|<>^]/.test(arg) ? `"${arg.replace(/"/g, '""')}"` : arg;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An upstream MCP server and everything it starts. On POSIX it leads a process group of its own
 * (detached), so `npx` → `node` chains can be signalled as one; on Windows the tree is ended with
 * `taskkill /T /F` (untested here; nothing outlives a hard kill of sphyr-mcp there).
 */
export class UpstreamProcess {
  readonly proc: ChildProcess;
  #watchdog: ChildProcess | undefined;
  #stopping: Promise<void> | undefined;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv, onWarning: (message: string) => void) {
    // Windows cannot spawn npx.cmd-style shims without a shell; IDEs list them by bare name.
    this.proc = needsWindowsShell(command)
      ? spawn([command, ...args].map(quoteForCmd).join(' '), {
          env,
          shell: true,
          stdio: ['pipe', 'pipe', 'inherit'],
          windowsHide: true,
        })
      : spawn(command, args, { env, stdio: ['pipe', 'pipe', 'inherit'], detached: !WINDOWS });
    this.proc.stdin?.on('error', () => {}); // a dead child's stdin: reported through 'exit'
    if (!WINDOWS && this.proc.pid !== undefined) this.#watchdog = startWatchdog(this.proc.pid, onWarning);
  }

  /** Whether the upstream or anything in its process group still runs. */
  #running(): boolean {
    const pid = this.proc.pid;
    if (pid === undefined) return false;
    const leaderRunning = this.proc.exitCode === null && this.proc.signalCode === null;
    if (WINDOWS) return leaderRunning;
    try {
      process.kill(-pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' || leaderRunning;
    }
  }

  async #gone(ms: number): Promise<boolean> {
    for (const end = Date.now() + ms; this.#running(); await sleep(POLL_MS)) {
      if (Date.now() >= end) return false;
    }
    return true;
  }

  #signal(signal: 'SIGTERM' | 'SIGKILL'): void {
    const pid = this.proc.pid as number;
    try {
      if (WINDOWS) {
        // No process groups: taskkill walks the tree from the upstream's pid (forcefully; console
        // programs ignore the polite form).
        spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on(
          'error',
          () => {},
        );
      } else {
        process.kill(-pid, signal);
      }
    } catch {
      // already gone
    }
  }

  /**
   * End the upstream and everything it started: close its stdin, give it ~2 s, SIGTERM its group,
   * ~2 s more, then SIGKILL. Also clears what is left in the group after the upstream exited on
   * its own. Idempotent; resolves when nothing is left (or, after SIGKILL, within a second).
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.proc.stdin?.end();
      if (this.proc.pid !== undefined && !(await this.#gone(STDIN_GRACE_MS))) {
        this.#signal('SIGTERM');
        if (!(await this.#gone(TERM_GRACE_MS))) {
          this.#signal('SIGKILL');
          await this.#gone(KILL_WAIT_MS);
        }
      }
      await releaseWatchdog(this.#watchdog);
    })();
    return this.#stopping;
  }
}

function startWatchdog(pgid: number, onWarning: (message: string) => void): ChildProcess | undefined {
  try {
    const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'sphyr-mcp-watchdog', String(pgid)], {
      // No secrets from our env: it needs only a PATH for `sleep`.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    watchdog.on('error', (error) =>
      onWarning(`no watchdog for the upstream (it may outlive a crash of sphyr-mcp): ${error.message}`),
    );
    watchdog.stdin?.on('error', () => {});
    // It must never keep sphyr-mcp alive; it exists for when sphyr-mcp is gone.
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return watchdog;
  } catch (error) {
    onWarning(
      `no watchdog for the upstream (it may outlive a crash of sphyr-mcp): ${(error as Error).message}`,
    );
    return undefined;
  }
}

/** Tell the watchdog its upstream was stopped, so it exits without signalling anything. */
function releaseWatchdog(watchdog: ChildProcess | undefined): Promise<void> {
  const stdin = watchdog?.stdin;
  if (!watchdog || !stdin || watchdog.exitCode !== null || watchdog.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    stdin.end('stopped\n', () => resolve());
    stdin.once('error', () => resolve());
  });
}
