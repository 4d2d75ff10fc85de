import { CommanderError } from 'commander';
import type { CliContext } from './CliContext.js';
import { createProgram } from './createProgram.js';
import { oneLineMessage } from './oneLineMessage.js';

/**
 * Runs the CLI with `argv` (without node and script) and resolves with the exit code:
 * 0 all records succeeded, 2 the run finished with failed records, 1 a fatal or configuration error
 * (printed as one line, never a stack trace, never the API key), 130 / 143 after SIGINT / SIGTERM
 * (see `ctx.drainSignal`).
 */
export async function runCli(argv: readonly string[], ctx: CliContext, version: string): Promise<number> {
  let code = 0;
  const program = createProgram({ ...ctx, argv: ctx.argv ?? argv }, version, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its one-line message (help and --version exit 0).
      return error.exitCode === 0 ? 0 : 1;
    }
    ctx.stderr.write(`dify-batch: ${oneLineMessage(error)}\n`);
    return 1;
  }
}
