import { type ChildProcess, spawn } from 'node:child_process';
import { type ProcessInfo, PS_ARGS } from './process-tree.js';

/**
 * Runs in `sh` beside the upstream, in a session of its own, for when sphyr-mcp dies without
 * cleaning up (SIGKILL, a crash). Its stdin is a pipe only sphyr-mcp writes: `+ pid start` for
 * each process sphyr-mcp found in the upstream's tree, `- pid start` once that one ended, `stop`
 * once sphyr-mcp ended the tree itself. End of input means sphyr-mcp is gone: it then ends the
 * tree as sphyr-mcp would have ($1 is the upstream's pid and group; its stdin closed with ours),
 * looking at the process table again before each signal (by /proc, or `ps` where there is none)
 * for what joined the tree since: children of a live member, members of the root's group, of a
 * group or a session led by a live member. A process is named by pid and start time, so a reused
 * pid is never signalled.
 */
const SCRIPT = `root=$1
seen=" "
while read -r op pid start; do
  case $op in
    stop) exit 0 ;;
    +) seen="$seen$pid:$start " ;;
    -) e=" $pid:$start "; case $seen in *"$e"*) seen="\${seen%%"$e"*} \${seen#*"$e"}" ;; esac ;;
  esac
done
ifs=$IFS
# "pid ppid pgid sid start" for every live process (sid "-" where ps cannot say it).
table() {
  if [ -r /proc/$$/stat ]; then
    for f in /proc/[0-9]*/stat; do
      read -r s 2>/dev/null <"$f" || continue
      p=\${s%% *}
      set -f; set -- \${s##*) }; set +f
      case $1 in Z|X) continue ;; esac
      echo "$p $2 $3 $4 \${20}"
    done
  else
    LC_ALL=C ps ${PS_ARGS.join(' ')} 2>/dev/null | while read -r p pp g st rest; do
      case $st in Z*) continue ;; esac
      set -f; set -- $rest; set +f
      IFS=_; l="$p $pp $g - $*"; IFS=$ifs
      echo "$l"
    done
  fi
}
# Adds to $seen what joined the tree; $live: the pids of its members that run now.
look() {
  tab=$(table)
  more=1
  while [ $more = 1 ]; do
    more=0
    live=" "
    while read -r p pp g ss t; do
      case $seen in *" $p:$t "*) live="$live$p " ;; esac
    done <<EOF
$tab
EOF
    while read -r p pp g ss t; do
      [ -n "$t" ] || continue
      case $seen in *" $p:$t "*) continue ;; esac
      case $live in *" $pp "*|*" $g "*|*" $ss "*) ;; *) [ "$g" = "$root" ] || continue ;; esac
      seen="$seen$p:$t "
      more=1
    done <<EOF
$tab
EOF
  done
}
left() { [ "$live" != " " ] || kill -s 0 -- "-$root" 2>/dev/null; }
hit() {
  for p in $live; do kill -s "$1" "$p" 2>/dev/null; done
  kill -s "$1" -- "-$root" 2>/dev/null
}
look; sleep 1; look; sleep 1; look
left || exit 0
hit TERM
sleep 1; look; sleep 1; look
left || exit 0
for _ in 1 2 3; do hit KILL; look; left || exit 0; sleep 1; look; done
`;

/** The watchdog of one upstream: told what sphyr-mcp finds, released when sphyr-mcp ended it. */
export class Watchdog {
  readonly #proc: ChildProcess;

  constructor(root: number, onWarning: (message: string) => void) {
    this.#proc = spawn('/bin/sh', ['-c', SCRIPT, 'sphyr-mcp-watchdog', String(root)], {
      // No secrets from our env: it needs only a PATH for `sleep` and `ps`.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    this.#proc.on('error', (error) =>
      onWarning(`no watchdog for the upstream (it may outlive a crash of sphyr-mcp): ${error.message}`),
    );
    this.#proc.stdin?.on('error', () => {});
    // It must never keep sphyr-mcp alive; it exists for when sphyr-mcp is gone.
    this.#proc.unref();
    (this.#proc.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }

  seen(p: ProcessInfo): void {
    this.#write(`+ ${p.pid} ${p.start}\n`);
  }

  gone(pid: number, start: string): void {
    this.#write(`- ${pid} ${start}\n`);
  }

  /** Tell it the upstream was ended, so it exits without signalling anything. */
  release(): Promise<void> {
    const stdin = this.#proc.stdin;
    if (!stdin?.writable || this.#proc.exitCode !== null || this.#proc.signalCode !== null) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      stdin.end('stop\n', () => resolve());
      stdin.once('error', () => resolve());
    });
  }

  #write(line: string): void {
    const stdin = this.#proc.stdin;
    if (stdin?.writable) stdin.write(line);
  }
}
