import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { pino } from 'pino';
import { GATEWAY_DEFAULTS, startGateway } from '../gateway/startGateway.js';
import type { CliContext } from './CliContext.js';
import { CliError } from './CliError.js';
import { parsePort, parsePositiveInt } from './parsers.js';

/** The options `dify-batch serve` parses (commander's camelCase of the flags). */
export interface ServeCommandOptions {
  port: number;
  host: string;
  upstream?: string;
  apiKey?: string;
  maxItems: number;
  maxBodyBytes: number;
  concurrency: number;
  queue: number;
  maxAttempts: number;
  logLevel: string;
  dataDir: string;
  secretFile?: string;
  jobs: boolean;
}

/** Where `serve` keeps its jobs unless `--data-dir` says otherwise (relative to the working directory). */
export const DEFAULT_DATA_DIR = 'dify-batch-jobs';

/** Adds `dify-batch serve`: the batch gateway in front of one Dify, until Ctrl-C. */
export function registerServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description(
      'Start the batch gateway: POST /v1/workflows/run/batch (and completion/chat) in front of one Dify',
    )
    .option('-p, --port <n>', 'port (0 = any free port)', parsePort, 8080)
    .option('--host <host>', 'interface to listen on', GATEWAY_DEFAULTS.host)
    .option('--upstream <url>', 'upstream Dify Service API base URL, /v1 included (env DIFY_BASE_URL)')
    .option(
      '--api-key <key>',
      "send this app key upstream instead of each caller's Authorization (env DIFY_GATEWAY_API_KEY)",
    )
    .option(
      '--max-items <n>',
      'elements per batch at most (more: 413)',
      parsePositiveInt,
      GATEWAY_DEFAULTS.maxItems,
    )
    .option(
      '--max-body-bytes <n>',
      'request body bytes at most (more: 413)',
      parsePositiveInt,
      GATEWAY_DEFAULTS.maxBodyBytes,
    )
    .option(
      '-c, --concurrency <n>',
      'upstream calls in flight at most, over all callers',
      parsePositiveInt,
      GATEWAY_DEFAULTS.concurrency,
    )
    .option(
      '--queue <n>',
      'items waiting for an upstream slot at most, over all callers (full: 429); ≥ --max-items',
      parsePositiveInt,
      GATEWAY_DEFAULTS.queue,
    )
    .option(
      '--max-attempts <n>',
      'attempts per element, the first included (retryable errors only)',
      parsePositiveInt,
      4,
    )
    .option(
      '--data-dir <dir>',
      'where jobs (POST /v1/jobs) keep their input, results and checkpoints',
      DEFAULT_DATA_DIR,
    )
    .option(
      '--secret-file <file>',
      "seal callers' keys with this secret so their jobs resume after a restart (env DIFY_BATCH_JOBS_SECRET)",
    )
    .option('--no-jobs', 'no job API and no dashboard (only the batch endpoints)')
    .addOption(
      new Option('--log-level <level>', 'JSON log lines on stderr from this level up')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
        .default('info'),
    )
    .action(async (opts: ServeCommandOptions) => {
      await serveFromCli(opts, ctx);
    });
}

/**
 * Runs `dify-batch serve` until the drain signal (first Ctrl-C), then closes gracefully: no new requests,
 * the ones in progress finish. The abort signal (second Ctrl-C) cancels those at once.
 */
export async function serveFromCli(opts: ServeCommandOptions, ctx: CliContext): Promise<void> {
  const upstream = opts.upstream ?? ctx.env.DIFY_BASE_URL;
  if (upstream === undefined || upstream === '') {
    throw new CliError('missing --upstream (or env DIFY_BASE_URL), e.g. https://api.dify.ai/v1');
  }
  if (!URL.canParse(upstream) || !/^https?:$/.test(new URL(upstream).protocol)) {
    throw new CliError(`--upstream must be an http(s) URL, got "${upstream}"`);
  }
  if (opts.queue < opts.maxItems) {
    throw new CliError(`--queue (${opts.queue}) must be ≥ --max-items (${opts.maxItems})`);
  }
  const apiKey = opts.apiKey ?? ctx.env.DIFY_GATEWAY_API_KEY;
  if (apiKey !== undefined && (apiKey.trim() === '' || /\s/.test(apiKey))) {
    throw new CliError('--api-key (or env DIFY_GATEWAY_API_KEY) must be a key without spaces');
  }
  const logger = pino({ level: opts.logLevel }, ctx.stderr);
  let secret = ctx.env.DIFY_BATCH_JOBS_SECRET;
  if (opts.secretFile !== undefined) {
    secret = await readFile(opts.secretFile, 'utf8').then(
      (text) => text.trim(),
      (error: NodeJS.ErrnoException) => {
        throw new CliError(`cannot read --secret-file ${opts.secretFile}: ${error.code ?? error.message}`);
      },
    );
    if (secret === '') throw new CliError(`--secret-file ${opts.secretFile} is empty`);
  }
  const gateway = await startGateway({
    upstream,
    ...(apiKey === undefined ? {} : { apiKey }),
    port: opts.port,
    host: opts.host,
    maxItems: opts.maxItems,
    maxBodyBytes: opts.maxBodyBytes,
    concurrency: opts.concurrency,
    queue: opts.queue,
    retry: { maxAttempts: opts.maxAttempts },
    ...(opts.jobs ? { jobs: { dataDir: resolve(opts.dataDir), secret } } : {}),
    logger,
    // The second Ctrl-C (or the grace timeout): stop the batches still running.
    signal: ctx.abortSignal,
  }).catch((error: unknown) => {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new CliError(`cannot listen on ${opts.host}:${opts.port} (${String(code)})`);
    }
    throw error;
  });
  ctx.stdout.write(`${gateway.url}\n`);
  await new Promise<void>((resolve) => {
    if (ctx.drainSignal.aborted) resolve();
    else ctx.drainSignal.addEventListener('abort', () => resolve(), { once: true });
  });
  await gateway.close();
}
