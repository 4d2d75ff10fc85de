import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EMULATOR_DEFAULT_APPS } from '../emulator/EMULATOR_DEFAULT_APPS.js';
import { startEmulator } from '../emulator/startEmulator.js';
import type { CliContext } from './CliContext.js';
import { CliError } from './CliError.js';
import { parsePositiveInt } from './parsers.js';
import { runFromCli } from './runCommand.js';

const SAMPLE = join('examples', 'demo', 'reviews.ndjson');

/** The bundled dataset, found from wherever the build put this module (dist/, a chunk, or src/). */
function findSample(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, SAMPLE);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new CliError(`cannot find the demo dataset ${SAMPLE} next to the installed package`);
}

interface DemoOptions {
  concurrency: number;
  output?: string;
  progress: boolean;
}

/**
 * Adds `dify-batch demo`: starts the built-in emulator (log-normal latency, a few injected 429/500/502
 * faults) and runs the bundled dataset through the real pipeline, so a newcomer sees ordering, retries
 * and a malformed record handled, with no Dify server.
 */
export function registerDemoCommand(program: Command, ctx: CliContext, onExit: (code: number) => void): void {
  program
    .command('demo')
    .description('Run a bundled sample dataset through the built-in Dify emulator (no Dify server needed)')
    .option('-c, --concurrency <n>', 'calls in flight at most', parsePositiveInt, 16)
    .option('-o, --output <file>', 'results file (default: a new temp directory)')
    .option('--no-progress', 'no progress bar or progress lines')
    .action(async (opts: DemoOptions) => {
      const input = findSample();
      const dir = await mkdtemp(join(tmpdir(), 'dify-batch-demo-'));
      const output = opts.output ?? join(dir, 'results.ndjson');
      const errors = join(dir, 'errors.ndjson');
      const emulator = await startEmulator({
        latency: { kind: 'lognormal', p50Ms: 40, p99Ms: 400 },
        faults: { rate429: 0.03, rate500: 0.03, rate502Html: 0.02 },
        faultsPerInputMax: 1,
      });
      const workflow = EMULATOR_DEFAULT_APPS.find((app) => app.mode === 'workflow')!;
      ctx.stderr.write(
        `emulator: ${emulator.url} (log-normal latency p50 40 ms / p99 400 ms, ~8% injected faults)\n`,
      );
      ctx.stderr.write(`input:    ${input}\n`);
      try {
        const code = await runFromCli(
          {
            input,
            output,
            errors,
            baseUrl: emulator.url,
            apiKey: workflow.key,
            app: 'workflow',
            responseMode: 'streaming',
            concurrency: opts.concurrency,
            ordered: true,
            maxAttempts: 5,
            idField: 'id',
            user: 'dify-batch-demo',
            progress: opts.progress,
          },
          // No resume command: the demo's argv is not a `run` command line.
          { ...ctx, argv: [] },
        );
        const stats = emulator.stats();
        const lines = (await readFile(output, 'utf8')).trimEnd().split('\n');
        ctx.stderr.write(`\nfirst results (${output}):\n`);
        for (const line of lines.slice(0, 3))
          ctx.stderr.write(`  ${line.length > 160 ? `${line.slice(0, 157)}...` : line}\n`);
        ctx.stderr.write(
          `\nemulator saw ${stats.requests} requests (calls, and the preflight's GET /info and GET /parameters), peak ${stats.peakActive} concurrent; ` +
            `${Object.values(stats.faultsInjected).reduce((a, b) => a + b, 0)} faults injected and retried.\n`,
        );
        ctx.stderr.write(`failed records (re-runnable with --input): ${errors}\n`);
        // The malformed line in the sample is deliberate; the demo itself succeeded if nothing else failed.
        onExit(code === 2 ? 0 : code);
      } finally {
        await emulator.close();
      }
    });
}
