import { Command } from 'commander';
import { registerBenchCommand } from './benchCommand.js';
import type { CliContext } from './CliContext.js';
import { registerDemoCommand } from './demoCommand.js';
import { registerEmulatorCommand } from './emulatorCommand.js';
import { registerJobsCommand } from './jobsCommand.js';
import { registerRunCommand } from './runCommand.js';
import { registerServeCommand } from './serveCommand.js';

/** Builds the `dify-batch` commander program; `onExit` receives each command's exit code. */
export function createProgram(ctx: CliContext, version: string, onExit: (code: number) => void): Command {
  const program = new Command('dify-batch')
    .description('Stream records into Dify app calls: ordered results, backpressure, retries, rate limits')
    .version(version)
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .exitOverride();
  registerRunCommand(program, ctx, onExit);
  registerServeCommand(program, ctx);
  registerJobsCommand(program, ctx, onExit);
  registerEmulatorCommand(program, ctx);
  registerDemoCommand(program, ctx, onExit);
  registerBenchCommand(program, ctx, onExit);
  return program;
}
