import { Command, CommanderError } from 'commander';
import { isSphyrError, SphyrAuthError, SphyrConfigError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerGateway } from './commands/gateway.js';
import { registerGuard } from './commands/guard.js';
import { registerKeys } from './commands/keys.js';
import { registerLog } from './commands/log.js';
import { registerLogin } from './commands/login.js';
import { EXIT } from './exit-codes.js';
import { type CliIo, processIo } from './io.js';

/** The one place CLI errors become a message and an exit code. */
function exitCodeFor(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (isSphyrError(error)) {
    io.err(`sphyr: ${error.message}`);
    if (error instanceof SphyrAuthError) return EXIT.auth;
    if (error instanceof SphyrConfigError) return EXIT.error;
    return EXIT.error;
  }
  io.err(`sphyr: unexpected error: ${(error as Error)?.stack ?? error}`);
  return EXIT.error;
}

/** Run the CLI; resolves with the exit code (long-running commands resolve when they stop). */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = EXIT.ok;
  let running: Promise<void> | undefined;
  const program = new Command('sphyr')
    .description('Sphyr: every outbound call an agent makes, signed, policy-checked and logged.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => write(s.startsWith('error:') ? `sphyr: ${s}` : s),
    })
    .showHelpAfterError('(run with --help for usage)');
  registerGateway(program, io, (p) => {
    running = p;
  });
  registerKeys(program, io);
  registerLog(program, io, (code) => {
    exitCode = code;
  });
  registerGuard(program, io, (code) => {
    exitCode = code;
  });
  registerLogin(
    program,
    io,
    (code) => {
      exitCode = code;
    },
    (argv) => main(argv, io),
  );
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    if (running) await running;
    return exitCode;
  } catch (error) {
    return exitCodeFor(error, io);
  }
}
