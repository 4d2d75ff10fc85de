import { access, constants, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { DifyBatchError } from '../core/DifyBatchError.js';
import { redactSecrets } from '../core/redactSecrets.js';
import { FileUploadLog } from '../files/FileUploadLog.js';
import { RemoteHostAllowList } from '../files/RemoteHostAllowList.js';
import { hasTracerProvider } from '../metrics/hasTracerProvider.js';
import { startRunMetrics } from '../metrics/startRunMetrics.js';
import { traceHeaders, traceTransport } from '../metrics/traceTransport.js';
import type { RunProgress, RunSummary } from '../pipeline/RunSummary.js';
import { runBatch } from '../pipeline/runBatch.js';
import type { KafkaGroupShare } from '../sources/fromKafka.js';
import type { CliContext } from './CliContext.js';
import { CliError } from './CliError.js';
import { checkOutputPaths } from './checkOutputPaths.js';
import { countRecords } from './countRecords.js';
import { addDifyConnectionOptions, resolveDifyConnection } from './difyConnectionOptions.js';
import { Interruption } from './Interruption.js';
import { oneLineMessage } from './oneLineMessage.js';
import { isUrlEndpoint, openEndpoints } from './openEndpoints.js';
import { ProgressReporter } from './ProgressReporter.js';
import { parseNonNegativeNumber, parsePort, parsePositiveInt } from './parsers.js';
import { countsOf, formatRunReport, type RunEndReason, type RunReport } from './RunReport.js';
import { resumeCommand } from './resumeCommand.js';
import { prepareResume } from './resumeRun.js';

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
  /** `--no-preflight` sets it to false. */
  preflight?: boolean;
  maxAttempts: number;
  maxOutageMs?: number;
  recordTimeoutMs?: number;
  batchSize?: number;
  batchWaitMs?: number;
  timeoutMs?: number;
  idField?: string;
  user: string;
  inputsField?: string;
  queryField?: string;
  progress: boolean;
  overwrite?: boolean;
  resume?: boolean;
  summary?: string;
  metricsPort?: number;
  stopAtEnd?: boolean;
  webhookFallback?: string;
  filesRoot?: string;
  uploadRemote?: boolean;
  filesAllowHost?: string[];
  trace?: boolean;
}

/** Adds `dify-batch run` to the program. Resolves the exit code through `onExit`. */
export function registerRunCommand(program: Command, ctx: CliContext, onExit: (code: number) => void): void {
  addDifyConnectionOptions(program.command('run'))
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
      'kafka input: stop once the group has committed every partition up to its end offset at start (waits for the other instances)',
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
      'adapt concurrency to rate limits (AIMD): halve on 429/Too many requests, grow back on success (default)',
    )
    .option('--no-adaptive', 'keep a fixed --concurrency, even against rate limits')
    .option(
      '--no-preflight',
      "skip reading the app's /info and /parameters before the run (for servers that hide them): records are then not checked against the input form",
    )
    .option(
      '--max-attempts <n>',
      'attempts per record, the first included (network/5xx failures; rate limits and outages waited out do not count)',
      parsePositiveInt,
      5,
    )
    .option(
      '--max-outage-ms <ms>',
      'how long Dify may be unreachable (calls paused, one probe at a time) before the run stops with exit 1; 0 = never pause',
      parseNonNegativeNumber,
      300_000,
    )
    .option(
      '--record-timeout-ms <ms>',
      "one record's deadline, attempts and backoff included; then it fails with ERR_DIFY_TIMEOUT",
      parsePositiveInt,
      900_000,
    )
    .option('--batch-size <n>', 'results per sink write at most', parsePositiveInt)
    .option('--batch-wait-ms <ms>', 'longest wait to fill a sink batch', parseNonNegativeNumber)
    .option(
      '--timeout-ms <ms>',
      'deadline of one call, first byte and body included (default 600000)',
      parsePositiveInt,
    )
    .option('--id-field <name>', "use this record field as the result's id")
    .option('--user <name>', 'Dify `user` sent with every call', 'dify-batch')
    .option('--inputs-field <name>', 'take the input variables from this field (default: the whole record)')
    .option('--query-field <name>', 'take the chat/completion query from this field (chat default: query)')
    .option(
      '--files-root <dir>',
      "file inputs: relative paths in records are resolved here (default: the input file's folder)",
    )
    .option(
      '--upload-remote',
      'file inputs: download http(s) URLs and upload them instead of passing the URL',
    )
    .option(
      '--files-allow-host <host>',
      'with --upload-remote: download from this host (name, .suffix or IP) even when it resolves to a loopback/private address; repeatable (default: public addresses only)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--no-progress', 'no progress bar or progress lines')
    .option('--overwrite', 'replace an existing non-empty --output / --errors file')
    .option('--resume', 'continue an interrupted run from its checkpoint')
    .option('--summary <file>', 'write the run summary as JSON to this file at every exit (replaced)')
    .option(
      '--metrics-port <n>',
      'serve Prometheus metrics at http://127.0.0.1:<n>/metrics during the run',
      parsePort,
    )
    .option(
      '--trace',
      'an OpenTelemetry client span per Dify call, sent upstream as traceparent; needs an SDK preloaded (NODE_OPTIONS="--require …")',
    )
    .action(async (opts: RunCommandOptions) => {
      onExit(await runFromCli(opts, ctx));
    });
}

async function checkConfig(
  opts: RunCommandOptions,
  ctx: CliContext,
): Promise<{ baseUrl: string; apiKey: string }> {
  const { baseUrl, apiKey } = resolveDifyConnection(opts, ctx);
  if (opts.input !== '-' && !isUrlEndpoint(opts.input)) {
    await access(opts.input, constants.R_OK).catch(() => {
      throw new CliError(`cannot read --input "${opts.input}": no such file or no permission`);
    });
  }
  if (opts.window !== undefined && opts.window < opts.concurrency) {
    throw new CliError(`--window (${opts.window}) must be ≥ --concurrency (${opts.concurrency})`);
  }
  if (opts.rps !== undefined && opts.rpm !== undefined) throw new CliError('give --rps or --rpm, not both');
  if (opts.filesRoot !== undefined) {
    const isDir = await stat(opts.filesRoot).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) throw new CliError(`--files-root "${opts.filesRoot}" is not a folder`);
  }
  for (const host of opts.filesAllowHost ?? []) {
    try {
      new RemoteHostAllowList([host]);
    } catch {
      throw new CliError(`--files-allow-host takes a host name, a .suffix or an IP address, got "${host}"`);
    }
  }
  if (opts.overwrite === true && opts.resume === true) {
    throw new CliError('give --overwrite (start over) or --resume (continue), not both');
  }
  // A kafka:// or http(s):// output is never "an existing file".
  const fileOutputs = [
    { flag: '--output', path: opts.output },
    ...(opts.errors === undefined ? [] : [{ flag: '--errors', path: opts.errors }]),
    ...(opts.summary === undefined ? [] : [{ flag: '--summary', path: opts.summary, isReport: true }]),
  ].filter((output) => !isUrlEndpoint(output.path));
  await checkOutputPaths({
    input: opts.input,
    outputs: fileOutputs,
    overwrite: opts.overwrite === true,
    resume: opts.resume === true,
  });
  return { baseUrl, apiKey };
}

/** Runs `dify-batch run`; returns the exit code. Throws a CliError for configuration errors (before any call). */
export async function runFromCli(opts: RunCommandOptions, ctx: CliContext): Promise<number> {
  const { baseUrl, apiKey } = await checkConfig(opts, ctx);
  // The checkpoint next to --output: verified and loaded with --resume, started afresh otherwise.
  const resume = await prepareResume(opts, ctx, { baseUrl, apiKey });
  if (resume.alreadyComplete !== undefined) return resume.alreadyComplete;
  // Sources and sinks validate their options here and open nothing until the run needs them.
  const endpoints = openEndpoints({ ...opts, ...resume.endpointOptions }, ctx.abortSignal);
  if (opts.trace === true && !hasTracerProvider()) {
    ctx.stderr.write(
      'dify-batch: warning: --trace: no OpenTelemetry SDK is registered, so no spans are recorded; preload one (NODE_OPTIONS="--require @opentelemetry/auto-instrumentations-node/register")\n',
    );
  }
  const metrics = opts.metricsPort === undefined ? undefined : await startRunMetrics(opts.metricsPort);
  if (metrics !== undefined) ctx.stderr.write(`metrics: ${metrics.url}/metrics\n`);
  const progress = new ProgressReporter({ stream: ctx.stderr, quiet: !opts.progress });
  const counting = new AbortController();
  if (endpoints.inputIsFile) {
    countRecords(opts.input, opts.inputFormat, counting.signal).then(
      (total) => {
        // A resumed run has only the records after its checkpoint left to do.
        if (total !== undefined) progress.setTotal(Math.max(0, total - (resume.firstSeq ?? 0)));
      },
      () => {},
    );
  }
  // Uploads are remembered beside the checkpoint, so a resumed run does not upload a file again.
  const uploadLog =
    resume.checkpoint === undefined
      ? undefined
      : await FileUploadLog.open(FileUploadLog.pathFor(opts.output), opts.resume === true);
  const startedAt = performance.now();
  // The last progress seen: how far the run got if it ends with an error that carries no summary.
  let lastProgress: RunProgress = {
    read: 0,
    written: 0,
    succeeded: 0,
    failed: 0,
    retries: 0,
    ambiguousRetries: 0,
    inFlight: 0,
    elapsedMs: 0,
  };
  let outcome: { summary: RunProgress & Partial<RunSummary>; error?: unknown };
  let completed = false;
  let runError: unknown;
  try {
    const summary = await runBatch({
      source: endpoints.source,
      sink: metrics?.observe(endpoints.sink) ?? endpoints.sink,
      ...(endpoints.deadLetter === undefined ? {} : { deadLetter: endpoints.deadLetter }),
      dify: {
        baseUrl,
        apiKey,
        ...(opts.timeoutMs === undefined ? {} : { timeouts: { totalMs: opts.timeoutMs } }),
        // Each call's span context, injected by the preloaded SDK's propagator.
        ...(opts.trace === true ? { headers: traceHeaders } : {}),
      },
      // Without --trace the calls are not wrapped at all: no per-call cost.
      ...(opts.trace === true ? { wrapTransport: (transport) => traceTransport(transport) } : {}),
      app: opts.app,
      responseMode: opts.responseMode,
      user: opts.user,
      ...(opts.inputsField === undefined ? {} : { inputsField: opts.inputsField }),
      ...(opts.queryField === undefined ? {} : { queryField: opts.queryField }),
      concurrency: opts.concurrency,
      ...(opts.window === undefined ? {} : { window: opts.window }),
      ordered: opts.ordered,
      adaptiveConcurrency: opts.adaptive !== false,
      preflight: opts.preflight !== false,
      onWarning: (message) => ctx.stderr.write(`dify-batch: warning: ${redactSecrets(message)}\n`),
      ...(opts.maxOutageMs === undefined ? {} : { maxOutageMs: opts.maxOutageMs }),
      batch: {
        ...(opts.batchSize === undefined ? {} : { size: opts.batchSize }),
        ...(opts.batchWaitMs === undefined ? {} : { maxWaitMs: opts.batchWaitMs }),
      },
      retry: {
        maxAttempts: opts.maxAttempts,
        ...(opts.recordTimeoutMs === undefined ? {} : { maxRetryTimeMs: opts.recordTimeoutMs }),
      },
      ...(opts.rps === undefined && opts.rpm === undefined
        ? {}
        : { rateLimit: opts.rps === undefined ? { perMinute: opts.rpm! } : { perSecond: opts.rps } }),
      files: {
        root: resolve(opts.filesRoot ?? (endpoints.inputIsFile ? dirname(opts.input) : '.')),
        uploadRemote: opts.uploadRemote === true,
        ...(opts.filesAllowHost === undefined ? {} : { allowHosts: opts.filesAllowHost }),
        store: uploadLog,
      },
      signal: ctx.abortSignal,
      drainSignal: ctx.drainSignal,
      checkpoint: resume.checkpoint,
      firstSeq: resume.firstSeq,
      onProgress: (p) => {
        lastProgress = p;
        progress.update(p);
        metrics?.progress(p);
      },
    });
    outcome = { summary };
    completed = !ctx.drainSignal.aborted;
  } catch (error) {
    runError = error;
    const carried = (error as { summary?: RunSummary } | null)?.summary;
    // An option runBatch refused before starting is a configuration error: one line, exit 1.
    if (carried === undefined && error instanceof DifyBatchError && error.code === 'ERR_INVALID_OPTION') {
      throw error;
    }
    outcome = {
      summary: carried ?? { ...lastProgress, elapsedMs: performance.now() - startedAt },
      error,
    };
  } finally {
    counting.abort();
    progress.stop();
    await metrics?.close();
    await endpoints.close();
    // Only a run that did every record completes its checkpoint; any other end keeps it for --resume.
    await resume.finish(completed, runError);
  }
  const report = toReport(opts, ctx, outcome.summary, outcome.error, endpoints.kafkaShare());
  if (report.reason === 'fatal') ctx.stderr.write(`dify-batch: ${report.message}\n`);
  ctx.stderr.write(formatRunReport(report));
  if (opts.summary !== undefined) {
    await writeFile(opts.summary, `${JSON.stringify(report, null, 2)}\n`).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      ctx.stderr.write(`dify-batch: cannot write --summary: ${redactSecrets(message)}\n`);
    });
  }
  return report.exitCode;
}

function toReport(
  opts: RunCommandOptions,
  ctx: CliContext,
  summary: RunProgress & Partial<RunSummary>,
  error: unknown,
  kafka: KafkaGroupShare | undefined,
): RunReport {
  const interruption = ctx.drainSignal.aborted ? ctx.drainSignal.reason : ctx.abortSignal.reason;
  const signal = interruption instanceof Interruption ? interruption.signal : undefined;
  let exitCode: number;
  let reason: RunEndReason;
  let message: string | undefined;
  if (error !== undefined && ctx.abortSignal.aborted) {
    exitCode = interruption instanceof Interruption ? interruption.exitCode : 130;
    reason = 'cancelled';
  } else if (error !== undefined) {
    exitCode = 1;
    reason = 'fatal';
    message = oneLineMessage(error);
  } else if (ctx.drainSignal.aborted) {
    exitCode = interruption instanceof Interruption ? interruption.exitCode : 130;
    reason = 'interrupted';
  } else {
    exitCode = summary.failed > 0 ? 2 : 0;
    reason = summary.failed > 0 ? 'failed-records' : 'succeeded';
  }
  // Anything short of a finished run may have records left: say how to continue. A file run continues
  // from its checkpoint (--resume); a Kafka input from its committed offsets (the same command); stdin,
  // an HTTP input or a stream/URL output keep no checkpoint, so there is nothing to resume.
  const kafkaInput = opts.input.startsWith('kafka://');
  const checkpointed =
    opts.input !== '-' && !isUrlEndpoint(opts.input) && opts.output !== '-' && !isUrlEndpoint(opts.output);
  const resume =
    exitCode === 0 || exitCode === 2 || ctx.argv === undefined || ctx.argv.length === 0
      ? undefined
      : kafkaInput
        ? resumeCommand(ctx.argv, 'dify-batch', { appendResume: false })
        : checkpointed
          ? resumeCommand(ctx.argv)
          : undefined;
  return {
    exitCode,
    reason,
    ...(reason === 'cancelled' || reason === 'interrupted' ? { signal: signal ?? 'SIGINT' } : {}),
    ...(message === undefined ? {} : { message }),
    input: opts.input,
    output: opts.output,
    ...(opts.errors === undefined ? {} : { errors: opts.errors }),
    counts: countsOf(summary),
    ...(kafka === undefined ? {} : { kafka }),
    ...(summary.latencyMs === undefined ? {} : { latencyMs: summary.latencyMs }),
    elapsedMs: summary.elapsedMs,
    throughputPerSec: summary.throughputPerSec ?? 0,
    ...(resume === undefined ? {} : { resumeCommand: resume.command }),
    ...(resume?.apiKeyDropped === true ? { resumeNote: 'API key from $DIFY_API_KEY or pass --api-key' } : {}),
  };
}
