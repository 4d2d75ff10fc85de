import { access, constants } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import type { RunSummary } from '../pipeline/RunSummary.js';
import { runBatch } from '../pipeline/runBatch.js';
import type { CliContext } from './CliContext.js';
import { CliError } from './CliError.js';
import { countRecords } from './countRecords.js';
import { isUrlEndpoint, openEndpoints } from './openEndpoints.js';
import { ProgressReporter } from './ProgressReporter.js';
import { parseNonNegativeNumber, parsePositiveInt } from './parsers.js';

/** The options `dify-batch run` parses (commander's camelCase of the flags). */
export interface RunCommandOptions {
  input: string;
  output: string;
  errors?: string;
  inputFormat?: 'ndjson' | 'json' | 'csv';
  outputFormat?: 'ndjson' | 'json' | 'csv';
  baseUrl?: string;
  apiKey?: string;
  app: 'workflow' | 'completion' | 'chat';
  responseMode: 'blocking' | 'streaming';
  concurrency: number;
  window?: number;
  rps?: number;
  rpm?: number;
  ordered: boolean;
  adaptive?: boolean;
  maxAttempts: number;
  batchSize?: number;
  batchWaitMs?: number;
  timeoutMs?: number;
  idField?: string;
  user: string;
  inputsField?: string;
  queryField?: string;
  progress: boolean;
  stopAtEnd?: boolean;
  webhookFallback?: string;
}

/** Adds `dify-batch run` to the program. Resolves the exit code through `onExit`. */
export function registerRunCommand(program: Command, ctx: CliContext, onExit: (code: number) => void): void {
  program
    .command('run')
    .description(
      'Run every record of a file through a Dify app and write one result line per record, in input order',
    )
    .requiredOption(
      '-i, --input <file|url>',
      'input file: .ndjson/.jsonl, .json (array), .csv, each optionally .gz; - for stdin; ' +
        'kafka://HOST:PORT/TOPIC?group=GROUP; http(s)://… (streamed GET)',
    )
    .requiredOption(
      '-o, --output <file|url>',
      'results file: .ndjson/.jsonl, .json, .csv; - for stdout; kafka://HOST:PORT/TOPIC; http(s)://… (NDJSON webhook)',
    )
    .option(
      '-e, --errors <file|url>',
      'dead-letter file or kafka://HOST:PORT/TOPIC: failed records with their error, re-runnable as --input',
    )
    .option(
      '--stop-at-end',
      'kafka input: stop once every assigned partition is processed and committed up to its end offset at assignment',
    )
    .option('--webhook-fallback <file>', 'http(s) output: results the webhook keeps refusing go to this file')
    .addOption(
      new Option('--input-format <format>', 'input format (default: from the extension)').choices([
        'ndjson',
        'json',
        'csv',
      ]),
    )
    .addOption(
      new Option('--output-format <format>', 'output format (default: from the extension)').choices([
        'ndjson',
        'json',
        'csv',
      ]),
    )
    .option('--base-url <url>', 'Dify Service API base URL, /v1 included (env DIFY_BASE_URL)')
    .option('--api-key <key>', 'Dify app API key (env DIFY_API_KEY; prefer the env var: flags show up in ps)')
    .addOption(
      new Option('--app <kind>', 'app kind').choices(['workflow', 'completion', 'chat']).default('workflow'),
    )
    .addOption(
      new Option('--response-mode <mode>', 'response mode')
        .choices(['blocking', 'streaming'])
        .default('blocking'),
    )
    .option('-c, --concurrency <n>', 'calls in flight at most', parsePositiveInt, 16)
    .option(
      '-w, --window <n>',
      'records between reading and writing at most (memory bound; default 16 × concurrency)',
      parsePositiveInt,
    )
    .option(
      '--rps <n>',
      'requests per second at most (shared by all calls and retries)',
      parseNonNegativeNumber,
    )
    .option('--rpm <n>', 'requests per minute at most', parseNonNegativeNumber)
    .option('--no-ordered', 'write results as they complete instead of in input order')
    .option(
      '--adaptive',
      'adapt concurrency to rate limits (AIMD): halve on 429/Too many requests, grow back on success',
    )
    .option(
      '--max-attempts <n>',
      'attempts per record, the first included (retryable errors only)',
      parsePositiveInt,
      5,
    )
    .option('--batch-size <n>', 'results per sink write at most', parsePositiveInt)
    .option('--batch-wait-ms <ms>', 'longest wait to fill a sink batch', parseNonNegativeNumber)
    .option('--timeout-ms <ms>', 'deadline of one call, body included (default 600000)', parsePositiveInt)
    .option('--id-field <name>', "use this record field as the result's id")
    .option('--user <name>', 'Dify `user` sent with every call', 'dify-batch')
    .option('--inputs-field <name>', 'take the input variables from this field (default: the whole record)')
    .option('--query-field <name>', 'take the chat/completion query from this field (chat default: query)')
    .option('--no-progress', 'no progress bar or progress lines')
    .action(async (opts: RunCommandOptions) => {
      onExit(await runFromCli(opts, ctx));
    });
}

async function checkConfig(
  opts: RunCommandOptions,
  ctx: CliContext,
): Promise<{ baseUrl: string; apiKey: string }> {
  const baseUrl = opts.baseUrl ?? ctx.env.DIFY_BASE_URL;
  const apiKey = opts.apiKey ?? ctx.env.DIFY_API_KEY;
  if (baseUrl === undefined || baseUrl === '')
    throw new CliError('missing --base-url (or env DIFY_BASE_URL), e.g. https://api.dify.ai/v1');
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    throw new CliError(`--base-url must be an http(s) URL, got "${baseUrl}"`);
  }
  if (apiKey === undefined || apiKey === '') throw new CliError('missing --api-key (or env DIFY_API_KEY)');
  if (opts.input !== '-' && !isUrlEndpoint(opts.input)) {
    await access(opts.input, constants.R_OK).catch(() => {
      throw new CliError(`cannot read --input "${opts.input}": no such file or no permission`);
    });
  }
  if (opts.window !== undefined && opts.window < opts.concurrency) {
    throw new CliError(`--window (${opts.window}) must be ≥ --concurrency (${opts.concurrency})`);
  }
  if (opts.rps !== undefined && opts.rpm !== undefined) throw new CliError('give --rps or --rpm, not both');
  if (opts.output === opts.input && opts.input !== '-')
    throw new CliError('--output must differ from --input');
  return { baseUrl, apiKey };
}

function printSummary(summary: RunSummary, ctx: CliContext): void {
  const l = summary.latencyMs;
  ctx.stderr.write(
    `done: ${summary.written} records in ${(summary.elapsedMs / 1000).toFixed(1)} s (${summary.throughputPerSec.toFixed(1)}/s): ` +
      `${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.retries} retries; ` +
      `latency p50 ${l.p50.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms\n`,
  );
}

/** Runs `dify-batch run`; returns the exit code (0 all ok, 2 some records failed). Throws on fatal errors. */
export async function runFromCli(opts: RunCommandOptions, ctx: CliContext): Promise<number> {
  const { baseUrl, apiKey } = await checkConfig(opts, ctx);
  const endpoints = openEndpoints(opts, ctx.abortSignal);
  const progress = new ProgressReporter({ stream: ctx.stderr, quiet: !opts.progress });
  const counting = new AbortController();
  if (endpoints.inputIsFile) {
    countRecords(opts.input, opts.inputFormat, counting.signal).then(
      (total) => {
        if (total !== undefined) progress.setTotal(total);
      },
      () => {},
    );
  }
  try {
    const summary = await runBatch({
      source: endpoints.source,
      sink: endpoints.sink,
      ...(endpoints.deadLetter === undefined ? {} : { deadLetter: endpoints.deadLetter }),
      dify: {
        baseUrl,
        apiKey,
        ...(opts.timeoutMs === undefined ? {} : { timeouts: { totalMs: opts.timeoutMs } }),
      },
      app: opts.app,
      responseMode: opts.responseMode,
      user: opts.user,
      ...(opts.inputsField === undefined ? {} : { inputsField: opts.inputsField }),
      ...(opts.queryField === undefined ? {} : { queryField: opts.queryField }),
      concurrency: opts.concurrency,
      ...(opts.window === undefined ? {} : { window: opts.window }),
      ordered: opts.ordered,
      adaptiveConcurrency: opts.adaptive === true,
      batch: {
        ...(opts.batchSize === undefined ? {} : { size: opts.batchSize }),
        ...(opts.batchWaitMs === undefined ? {} : { maxWaitMs: opts.batchWaitMs }),
      },
      retry: { maxAttempts: opts.maxAttempts },
      ...(opts.rps === undefined && opts.rpm === undefined
        ? {}
        : { rateLimit: opts.rps === undefined ? { perMinute: opts.rpm! } : { perSecond: opts.rps } }),
      signal: ctx.abortSignal,
      drainSignal: ctx.drainSignal,
      onProgress: (p) => progress.update(p),
    });
    progress.stop();
    printSummary(summary, ctx);
    if (ctx.drainSignal.aborted)
      ctx.stderr.write('interrupted: stopped reading; every record read was written\n');
    return summary.failed > 0 ? 2 : 0;
  } finally {
    counting.abort();
    progress.stop();
    await endpoints.close();
  }
}
