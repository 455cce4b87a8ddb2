import { type ChildProcess, spawn } from 'node:child_process';
import { ProcessTree, TRACK_MS } from './process-tree.js';
import { Watchdog } from './watchdog.js';

/** How long an upstream gets to exit on its own after its stdin closes, then after SIGTERM. */
const STDIN_GRACE_MS = 2_000;
const TERM_GRACE_MS = 2_000;
/** After SIGKILL (repeated for what appears meanwhile): zombies an init that does not reap would keep "alive" must not hold us. */
const KILL_WAIT_MS = 1_000;
const POLL_MS = 100;

const WINDOWS = process.platform === 'win32';

function needsWindowsShell(command: string): boolean {
  return WINDOWS && !/\.(exe|com)$/i.test(command);
}

function quoteForCmd(arg: string): string {
  return /[\s"&|<>^]/.test(arg) ? `"${arg.replace(/"/g, '""')}"` : arg;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An upstream MCP server and everything it starts. On POSIX it leads a process group of its own
 * (detached), so `npx` → `node` chains can be signalled as one, and its whole tree is tracked by
 * parenthood (ProcessTree), so what left the group or session (a detached browser, a setsid'ed
 * daemon) goes too; on Windows the tree is ended with `taskkill /T /F` (untested here; nothing
 * outlives a hard kill of sphyr-mcp there).
 */
export class UpstreamProcess {
  readonly proc: ChildProcess;
  #tree: ProcessTree | undefined;
  #watchdog: Watchdog | undefined;
  #tracking: NodeJS.Timeout | undefined;
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
    const pid = this.proc.pid;
    if (WINDOWS || pid === undefined) return;
    try {
      this.#watchdog = new Watchdog(pid, onWarning);
    } catch (error) {
      onWarning(
        `no watchdog for the upstream (it may outlive a crash of sphyr-mcp): ${(error as Error).message}`,
      );
    }
    this.#tree = new ProcessTree(pid, () => this.proc.exitCode === null && this.proc.signalCode === null, {
      seen: (p) => this.#watchdog?.seen(p),
      gone: (p, start) => this.#watchdog?.gone(p, start),
      blind: (reason) =>
        onWarning(
          `cannot list processes (${reason}): what the upstream started outside its process group may outlive it`,
        ),
    });
    // The root at once, before it can exit and be reaped; then again and again, for a child must be
    // seen while its parent lives: once reparented, it can no longer be traced to the tree.
    void this.#tree.look();
    this.#tracking = setInterval(() => void this.#tree?.look(), TRACK_MS).unref();
  }

  /** Whether the upstream, anything in its process group or anything of its tree still runs. */
  #running(): boolean {
    const pid = this.proc.pid;
    if (pid === undefined) return false;
    const leaderRunning = this.proc.exitCode === null && this.proc.signalCode === null;
    if (WINDOWS) return leaderRunning;
    if (leaderRunning || (this.#tree?.size ?? 0) > 0) return true;
    try {
      process.kill(-pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  /** Wait up to `ms` for the tree to end, looking at it each poll; `again` is re-sent to what appears. */
  async #gone(ms: number, again?: 'SIGTERM' | 'SIGKILL'): Promise<boolean> {
    for (const end = Date.now() + ms; ; await sleep(POLL_MS)) {
      await this.#tree?.look();
      if (!this.#running()) return true;
      if (Date.now() >= end) return false;
      if (again) await this.#signal(again);
    }
  }

  async #signal(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const pid = this.proc.pid as number;
    if (WINDOWS) {
      // No process groups: taskkill walks the tree from the upstream's pid (forcefully; console
      // programs ignore the polite form).
      spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on(
        'error',
        () => {},
      );
      return;
    }
    // The whole table just before the signal: groups and sessions joined since the last look.
    await this.#tree?.look(true);
    this.#tree?.signal(signal);
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is empty
    }
  }

  /**
   * End the upstream and everything it started: close its stdin, give it ~2 s, SIGTERM its tree
   * and group, ~2 s more, then SIGKILL (again for whatever appears). Also clears what is left
   * after the upstream exited on its own. Idempotent; resolves when nothing is left (or, after
   * SIGKILL, within a second).
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearInterval(this.#tracking);
      this.proc.stdin?.end();
      if (this.proc.pid !== undefined && !(await this.#gone(STDIN_GRACE_MS))) {
        await this.#signal('SIGTERM');
        if (!(await this.#gone(TERM_GRACE_MS))) {
          await this.#signal('SIGKILL');
          await this.#gone(KILL_WAIT_MS, 'SIGKILL');
        }
      }
      await this.#watchdog?.release();
    })();
    return this.#stopping;
  }
}
