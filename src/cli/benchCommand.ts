import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { Item } from '../core/Item.js';
import { DifyClient } from '../dify/DifyClient.js';
import type { DifyAppKind, DifyRequest, DifyResponseMode } from '../dify/DifyRequest.js';
import { buildRequest } from '../pipeline/buildRequest.js';
import { maxRampCalls, RAMP_DEFAULTS, rampConcurrency, rampSteps } from '../sizing/rampConcurrency.js';
import { recommendSettings } from '../sizing/recommendSettings.js';
import { renderSizingSvg } from '../sizing/renderSizingSvg.js';
import { rejectionShare, type SizingStep } from '../sizing/SizingStep.js';
import type { CliContext } from './CliContext.js';
import { CliError } from './CliError.js';
import { addDifyConnectionOptions, resolveDifyConnection } from './difyConnectionOptions.js';
import { parseDuration, parsePositiveInt } from './parsers.js';

interface BenchOptions {
  baseUrl?: string;
  apiKey?: string;
  app: DifyAppKind;
  responseMode: DifyResponseMode;
  sample: string;
  inputsField?: string;
  queryField?: string;
  user: string;
  maxConcurrency: number;
  duration: number;
  callsPerWorker: number;
  svg: string;
  yes?: boolean;
}

/** The sample's records as requests; any line that is not a JSON object (or does not map) is a config error. */
async function readSample(opts: BenchOptions): Promise<DifyRequest[]> {
  const text = await readFile(opts.sample, 'utf8').catch(() => {
    throw new CliError(`cannot read --sample "${opts.sample}": no such file or no permission`);
  });
  const toRequest = buildRequest({
    app: opts.app,
    responseMode: opts.responseMode,
    user: opts.user,
    ...(opts.inputsField === undefined ? {} : { inputsField: opts.inputsField }),
    ...(opts.queryField === undefined ? {} : { queryField: opts.queryField }),
  });
  const requests: DifyRequest[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      throw new CliError(`--sample "${opts.sample}" line ${index + 1}: not valid JSON`);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new CliError(`--sample "${opts.sample}" line ${index + 1}: expected a JSON object`);
    }
    const item: Item = {
      seq: requests.length,
      id: `line ${index + 1}`,
      inputs: record as Record<string, unknown>,
    };
    try {
      requests.push(toRequest(item));
    } catch (error) {
      throw new CliError(
        `--sample "${opts.sample}": ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  if (requests.length === 0) throw new CliError(`--sample "${opts.sample}" has no records`);
  return requests;
}

function formatStep(step: SizingStep): string {
  const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : '–');
  return (
    `${String(step.concurrency).padStart(5)} ${String(step.calls).padStart(7)} ` +
    `${step.throughput.toFixed(2).padStart(9)} ${ms(step.p50Ms).padStart(8)} ${ms(step.p99Ms).padStart(8)} ` +
    `${`${step.limitRejections} (${(100 * rejectionShare(step)).toFixed(1)} %)`.padStart(15)} ${String(step.failed).padStart(7)}` +
    (step.firstFailure === undefined ? '' : `  first failure: ${step.firstFailure.split('\n')[0]}`)
  );
}

/** Asks on a terminal; anything but y/yes declines. */
async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  // process.stdin: the CLI context carries no input stream, and only an interactive user is asked.
  const rl = createInterface({ input: process.stdin, output: ctx.stderr });
  try {
    const answer = await rl.question(question, { signal: ctx.abortSignal });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * Adds `dify-batch bench`: ramps concurrency 1, 2, 4, … against the user's own app with a bounded number
 * of calls, prints throughput, p50/p99 latency and limit rejections per step, writes the curve as SVG and
 * recommends `--concurrency` (and `--rps` when a 429 quota was hit) for `run`.
 */
export function registerBenchCommand(
  program: Command,
  ctx: CliContext,
  onExit: (code: number) => void,
): void {
  addDifyConnectionOptions(program.command('bench'))
    .description('Size a run: ramp concurrency against your own Dify app and recommend --concurrency / --rps')
    .requiredOption('--sample <file>', 'NDJSON records to send (cycled), mapped like `run` maps its input')
    .option('--inputs-field <name>', 'take the input variables from this field (default: the whole record)')
    .option('--query-field <name>', 'take the chat/completion query from this field (chat default: query)')
    .option('--user <name>', 'Dify `user` sent with every call', 'dify-batch-bench')
    .option(
      '--max-concurrency <n>',
      'highest step (powers of two up to it)',
      parsePositiveInt,
      RAMP_DEFAULTS.maxConcurrency,
    )
    .option(
      '--duration <time>',
      'time budget of the whole ramp, split evenly between steps (60s, 2m)',
      parseDuration,
      RAMP_DEFAULTS.durationMs,
    )
    .option(
      '--calls-per-worker <n>',
      'calls per in-flight slot per step at most (step at c sends ≤ c × n)',
      parsePositiveInt,
      RAMP_DEFAULTS.callsPerWorker,
    )
    .option('--svg <file>', 'write the curve here', 'dify-batch-bench.svg')
    .option('-y, --yes', 'start without asking (the prompt appears only on a terminal)')
    .action(async (opts: BenchOptions) => {
      onExit(await benchFromCli(opts, ctx));
    });
}

async function benchFromCli(opts: BenchOptions, ctx: CliContext): Promise<number> {
  const { baseUrl, apiKey } = resolveDifyConnection(opts, ctx);
  const requests = await readSample(opts);
  const levels = rampSteps(opts.maxConcurrency);
  const bound = maxRampCalls(opts.maxConcurrency, opts.callsPerWorker);
  ctx.stderr.write(
    `dify-batch bench: ${levels.length} steps (c = ${levels.join(', ')}), at most ${bound.toLocaleString('en-US')} calls ` +
      `to ${new URL(baseUrl).origin} over at most ~${Math.round(opts.duration / 1000)} s (plus calls in flight); ` +
      `stops early once a step is mostly rejected. Each call runs your app and may cost tokens.\n`,
  );
  if (opts.yes !== true && process.stdin.isTTY === true && ctx.stderr.isTTY === true) {
    if (!(await confirm(ctx, 'Start? [y/N] '))) {
      ctx.stderr.write('dify-batch bench: not started\n');
      return 1;
    }
  }
  const client = new DifyClient({ baseUrl, apiKey, connections: levels.at(-1)! });
  const signal = AbortSignal.any([ctx.drainSignal, ctx.abortSignal]);
  ctx.stdout.write(
    `${'c'.padStart(5)} ${'calls'.padStart(7)} ${'ok/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'limit-refused'.padStart(15)} ${'failed'.padStart(7)}\n`,
  );
  let steps: SizingStep[];
  try {
    steps = await rampConcurrency({
      transport: client.transport,
      requests,
      maxConcurrency: opts.maxConcurrency,
      durationMs: opts.duration,
      callsPerWorker: opts.callsPerWorker,
      signal,
      onStep: (step) => ctx.stdout.write(`${formatStep(step)}\n`),
    });
  } catch (error) {
    if (!signal.aborted) throw error;
    ctx.stderr.write('dify-batch bench: interrupted; no recommendation from a partial ramp\n');
    return 130;
  } finally {
    await client.close();
  }
  const recommendation = recommendSettings(steps);
  await writeFile(opts.svg, renderSizingSvg(steps, recommendation));
  ctx.stdout.write(`\nwrote ${opts.svg}\n`);
  if (recommendation.concurrency === undefined) {
    ctx.stdout.write(`no recommendation: ${recommendation.reason}\n`);
    return 2;
  }
  const flags = `--concurrency ${recommendation.concurrency}${recommendation.rps === undefined ? '' : ` --rps ${recommendation.rps}`}`;
  ctx.stdout.write(`recommended: dify-batch run ${flags} …\n  (${recommendation.reason})\n`);
  return 0;
}
