import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** One process, as far as placing it in a tree and telling it apart from a later one needs. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Its session; -1 where `ps` cannot say it portably. */
  sid: number;
  /** When it started, spelled as the platform gives it: with the pid, it names one process, even after the pid is reused. */
  start: string;
}

/** Linux: read /proc (always there, unlike `ps` in slim containers). Elsewhere (macOS): `ps`. */
const PROC = process.platform === 'linux' && existsSync(`/proc/${process.pid}/stat`);
/** Each thread's children (CONFIG_PROC_CHILDREN): walking down from the tree is far cheaper than reading every process. */
const CHILDREN = PROC && existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

/** How often the tree is looked at while it runs: a child must be seen before its parent dies. */
export const TRACK_MS = CHILDREN ? 500 : 2_000;

/**
 * The `ps` columns, identical in the watchdog (watchdog.ts): lstart's spaces become `_` so both
 * spell a start time the same way.
 */
export const PS_ARGS = ['-A', '-o', 'pid=', '-o', 'ppid=', '-o', 'pgid=', '-o', 'stat=', '-o', 'lstart='];

/** A process from /proc/<pid>/stat; undefined when it is gone or a zombie (it runs nothing any more). */
function readStat(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields resume after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (f[0] === 'Z' || f[0] === 'X' || f[19] === undefined) return undefined;
  return { pid, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), start: f[19] };
}

function procTable(): ProcessInfo[] {
  const table: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    const p = Number.isInteger(pid) && pid > 0 ? readStat(pid) : undefined;
    if (p) table.push(p);
  }
  return table;
}

function psTable(): Promise<ProcessInfo[] | undefined> {
  return new Promise((resolve) => {
    execFile(
      'ps',
      PS_ARGS,
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout) => {
        if (error) return resolve(undefined);
        const table: ProcessInfo[] = [];
        for (const line of stdout.split('\n')) {
          const [pid, ppid, pgid, stat, ...lstart] = line.trim().split(/\s+/);
          if (!pid || !stat || stat.startsWith('Z') || lstart.length === 0) continue;
          table.push({
            pid: Number(pid),
            ppid: Number(ppid),
            pgid: Number(pgid),
            sid: -1,
            start: lstart.join('_'),
          });
        }
        resolve(table);
      },
    );
  });
}

/** The pids /proc lists as children of any thread of `pid`. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').split(' ')) {
        if (child) children.push(Number(child));
      }
    }
  } catch {
    // gone meanwhile
  }
  return children;
}

export interface TreeEvents {
  /** A process joined the tree (or the root was first seen). */
  seen(p: ProcessInfo): void;
  /** A process seen before has ended. */
  gone(pid: number, start: string): void;
  /** The processes cannot be listed here (no /proc, no `ps`): only the root's group can be ended. */
  blind(reason: string): void;
}

/**
 * Every process that descends from `root`, found by parenthood rather than by process group, so
 * one that left the group or the session (`detached: true`, `setsid`) is still found. A process
 * whose parent dies is reparented (to init) and can no longer be traced by its parent: so the tree
 * is looked at again and again while it runs, and every process ever seen in it is remembered by
 * pid and start time until it ends. Members of the root's group, and of a group or session led by a
 * live process of the tree, belong to it too (they may have been orphaned before they were seen).
 *
 * What cannot be caught: a process that leaves the group and session and whose parent dies between
 * two looks (a daemon that double-forks within TRACK_MS), and one started between the last look and
 * the signal; Node cannot make sphyr-mcp a subreaper (PR_SET_CHILD_SUBREAPER) to keep them.
 */
export class ProcessTree {
  /** pid → start time of every process of the tree that still ran at the last look. */
  readonly #seen = new Map<number, string>();
  #blind = false;
  #looking: Promise<void> = Promise.resolve();

  constructor(
    readonly root: number,
    /** Whether the root has not been reaped yet (so its pid is still its own). */
    readonly rootUnreaped: () => boolean,
    readonly events: TreeEvents,
  ) {}

  /** How many processes of the tree ran at the last look. */
  get size(): number {
    return this.#seen.size;
  }

  /** Look at the tree again: cheaply (down from what is known) where /proc allows it, else the whole table. */
  look(full = false): Promise<void> {
    this.#looking = this.#looking
      .then(() => this.#lookNow(full))
      .catch((error: Error) => this.#goBlind(error.message));
    return this.#looking;
  }

  async #lookNow(full: boolean): Promise<void> {
    if (this.#blind) return;
    if (CHILDREN && !full) return this.#walk();
    const table = PROC ? procTable() : await psTable();
    if (table) this.#observe(table);
    else this.#goBlind('`ps` failed');
  }

  #goBlind(reason: string): void {
    if (this.#blind) return;
    this.#blind = true;
    this.events.blind(reason);
  }

  /**
   * Signal every process of the tree still running as the one seen (start time checked first,
   * so a reused pid is left alone). Call right after a full look.
   */
  signal(signal: NodeJS.Signals): void {
    for (const [pid, start] of this.#seen) {
      if (PROC && readStat(pid)?.start !== start) continue;
      try {
        process.kill(pid, signal);
      } catch {
        // ended meanwhile
      }
    }
  }

  #add(p: ProcessInfo): void {
    this.#seen.set(p.pid, p.start);
    this.events.seen(p);
  }

  #forget(pid: number, start: string): void {
    this.#seen.delete(pid);
    this.events.gone(pid, start);
  }

  #seedRoot(root: ProcessInfo | undefined): void {
    if (this.#seen.size === 0 && root && this.rootUnreaped()) this.#add(root);
  }

  /** Down from every known live process, by /proc's children lists. */
  #walk(): void {
    if (this.#seen.size === 0) this.#seedRoot(readStat(this.root));
    const queue: number[] = [];
    for (const [pid, start] of this.#seen) {
      if (readStat(pid)?.start === start) queue.push(pid);
      else this.#forget(pid, start);
    }
    const live = new Set(queue);
    for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
      for (const child of childrenOf(pid)) {
        if (live.has(child)) continue;
        const p = readStat(child);
        if (p?.ppid !== pid) continue;
        this.#add(p);
        live.add(child);
        queue.push(child);
      }
    }
  }

  /** From a whole process table: parenthood, and membership of the tree's groups and sessions. */
  #observe(table: ProcessInfo[]): void {
    const byPid = new Map(table.map((p) => [p.pid, p]));
    this.#seedRoot(byPid.get(this.root));
    for (const [pid, start] of this.#seen) {
      if (byPid.get(pid)?.start !== start) this.#forget(pid, start);
    }
    const index = (key: 'ppid' | 'pgid' | 'sid') => {
      const map = new Map<number, ProcessInfo[]>();
      for (const p of table) {
        const list = map.get(p[key]);
        if (list) list.push(p);
        else map.set(p[key], [p]);
      }
      return map;
    };
    const byParent = index('ppid');
    const byGroup = index('pgid');
    const bySession = index('sid');
    const queue = [...this.#seen.keys()];
    // The root's group outlives the root; its id cannot be reused while anything is in it.
    const rootNow = byPid.get(this.root);
    if (!rootNow || this.#seen.get(this.root) === rootNow.start) {
      for (const p of byGroup.get(this.root) ?? []) {
        if (this.#seen.get(p.pid) === p.start) continue;
        this.#add(p);
        queue.push(p.pid);
      }
    }
    for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
      const related = [
        ...(byParent.get(pid) ?? []),
        ...(byGroup.get(pid) ?? []),
        ...(bySession.get(pid) ?? []),
      ];
      for (const p of related) {
        if (this.#seen.get(p.pid) === p.start) continue;
        this.#add(p);
        queue.push(p.pid);
      }
    }
  }
}
