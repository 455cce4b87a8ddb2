/** The CLI's streams: stdout carries data only; every message goes to stderr. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  /** The OS whose files guard edits (default: this one). */
  platform?: 'darwin' | 'win32' | 'linux';
  /** Ask a yes/no question on the terminal; absent when there is no terminal. */
  ask?: (question: string) => Promise<string | undefined>;
  stdin?: AsyncIterable<Buffer | string>;
  stdinIsTTY?: boolean;
  stderrIsTTY?: boolean;
}

/**
 * A reader that stops early (`sphyr log tail | head -1`) closes our stdout: that ends the command
 * quietly, as Unix tools do, instead of an unhandled EPIPE with a stack trace.
 */
let quiet = false;
function quietOnClosedStdout(): void {
  if (quiet) return;
  quiet = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

export function processIo(): CliIo {
  quietOnClosedStdout();
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    env: process.env,
    home: process.env.HOME ?? process.env.USERPROFILE ?? '',
    ask: process.stdin.isTTY && process.stderr.isTTY ? askOnTerminal : undefined,
    stdin: process.stdin,
    stdinIsTTY: Boolean(process.stdin.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
  };
}

async function askOnTerminal(question: string): Promise<string | undefined> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}
