import { type Observable, of } from 'rxjs';
import { DifyBatchError } from '../core/DifyBatchError.js';
import { InvalidOptionError } from '../core/InvalidOptionError.js';
import type { Item } from '../core/Item.js';
import type { ItemResult } from '../core/ItemResult.js';
import { redactSecrets } from '../core/redactSecrets.js';
import { DIFY_CLIENT_DEFAULTS, DifyClient, type DifyClientOptions } from '../dify/DifyClient.js';
import type { DifyTransport } from '../dify/DifyRequest.js';
import { resolveDifyClientOptions } from '../dify/resolveDifyClientOptions.js';
import { FileUploads } from '../files/FileUploads.js';
import { RemoteHostAllowList } from '../files/RemoteHostAllowList.js';
import type { RunBatchFiles } from '../files/RunBatchFiles.js';
import { readFileVariables } from '../files/readFileVariables.js';
import { type ResolveFileInputsOptions, resolveFileInputs } from '../files/resolveFileInputs.js';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkNumber,
  checkObject,
  checkOneOf,
  checkOption,
  checkSignal,
  checkString,
} from '../internal/checkOption.js';
import { LatencyHistogram } from '../internal/LatencyHistogram.js';
import { AdaptiveConcurrency, type AdaptiveConcurrencyOptions } from '../limits/AdaptiveConcurrency.js';
import { CircuitBreaker } from '../limits/CircuitBreaker.js';
import { TokenBucket } from '../limits/TokenBucket.js';
import { PROCESS_RECORDS_DEFAULTS, processRecords } from '../operators/processRecords.js';
import type { RetryPolicy } from '../operators/retryBackoff.js';
import type { ResultSink } from '../sinks/ResultSink.js';
import type { DeadLetterEntry } from '../sinks/toDeadLetter.js';
import { isCommittable } from '../sources/CommittableSource.js';
import { AckWatermark } from './AckWatermark.js';
import { buildRequest, type RequestMapping } from './buildRequest.js';
import { preflight, type RecordCheck } from './preflight.js';
import type { RunCheckpoint } from './RunCheckpoint.js';
import type { RunProgress, RunSummary } from './RunSummary.js';

/** Options of {@link runBatch}. Exactly one of `transport` and `dify` is required. */
export interface RunBatchOptions extends RequestMapping {
  /**
   * Pull-based items (`fromFile`, `fromReadable`, `fromAsyncIterable`, or your own). A source with a
   * `commit` method ({@link CommittableSource}) is told each partition's acknowledgement watermark.
   */
  readonly source: AsyncIterable<Item>;
  /** Receives every result in batches; its `write()` promise is the backpressure signal. */
  readonly sink: ResultSink;
  /** Receives each failed result together with its input (a re-runnable file). */
  readonly deadLetter?: ResultSink<DeadLetterEntry>;
  /** How calls are made. Pass a `DifyClient#transport`, or an in-process function in tests. */
  readonly transport?: DifyTransport;
  /** Or let runBatch create (and close) a DifyClient, its pool sized to `concurrency`. */
  readonly dify?: Omit<DifyClientOptions, 'connections'> & { readonly connections?: number };
  /**
   * Decorates the transport (the one given, or the client's with `dify`) once, before the run: every
   * attempt of every call goes through what it returns, after file inputs are resolved and before the
   * call leaves (e.g. `traceTransport` for an OpenTelemetry span per call). @defaultValue none
   */
  readonly wrapTransport?: ((transport: DifyTransport) => DifyTransport) | undefined;
  /** Calls in flight at most (a sliding window, never chunk-and-wait). @defaultValue 16 */
  readonly concurrency?: number;
  /**
   * Items between "read from the source" and "accepted by the sink", at most: the memory bound and the
   * reorder horizon. Must be ≥ concurrency. @defaultValue 16 × concurrency
   */
  readonly window?: number;
  /** Results in input (`seq`) order. `false` writes them as they complete. @defaultValue true */
  readonly ordered?: boolean;
  /** Results are written in batches of up to `size`, or whatever has gathered after `maxWaitMs`. @defaultValue `{ size: min(100, window), maxWaitMs: 50 }` */
  readonly batch?: { readonly size?: number; readonly maxWaitMs?: number };
  /**
   * Retry policy for retryable errors (network, timeouts, 429, 5xx, Dify's concurrency limit). Rate
   * limits never use up `maxAttempts`; `maxRetryTimeMs` is the per-record deadline (attempts and backoff
   * included, default 15 minutes), after which the record fails with `ERR_DIFY_TIMEOUT`.
   */
  readonly retry?: RetryPolicy;
  /**
   * Adapt concurrency to the server (AIMD): halve on rate-limit answers (or drop straight to the limit
   * Dify states in its concurrency-limit answer), grow back on success, never above `concurrency`.
   * `true` uses {@link ADAPTIVE_CONCURRENCY_DEFAULTS}; `false` keeps a fixed `concurrency`.
   * @defaultValue true
   */
  readonly adaptiveConcurrency?: boolean | Omit<AdaptiveConcurrencyOptions, 'max'>;
  /**
   * How long Dify may be unreachable (network failures or 5xx across the board) before the run stops.
   * Meanwhile a circuit breaker pauses every call and probes one at a time, and failures it waits out
   * do not use up any record's attempts. After it, runBatch rejects with `ERR_DIFY_UNREACHABLE`
   * ("Dify unreachable since <ISO time>"). `0` turns the breaker off: every failure then counts
   * against `retry.maxAttempts`. @defaultValue 300000
   */
  readonly maxOutageMs?: number;
  /** A token bucket shared by every call and retry. */
  readonly rateLimit?: { readonly perSecond?: number; readonly perMinute?: number; readonly burst?: number };
  /** Aborting cancels in-flight calls, closes the sinks and rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /**
   * Aborting stops reading the source; in-flight items still finish and are written, then runBatch
   * resolves with the summary of what was done (the CLI's first Ctrl-C).
   */
  readonly drainSignal?: AbortSignal;
  /**
   * Called after each written batch, at most every `progressIntervalMs`, and once at the end. If it
   * throws, the run goes on: the first error is reported once as a process warning (`DifyBatchWarning`,
   * code `DIFY_BATCH_ON_PROGRESS`; listen with `process.on('warning')`), later ones are ignored.
   */
  readonly onProgress?: (progress: RunProgress) => void;
  /** @defaultValue 250 */
  readonly progressIntervalMs?: number;
  /** Close `sink` and `deadLetter` at the end. @defaultValue true */
  readonly closeSinks?: boolean;
  /**
   * Records how far the run is after each written batch (the acknowledgement watermark and the
   * sinks' `bytesWritten`), journals results as they complete, and supplies the results a crashed
   * run already paid for ({@link FileCheckpoint} makes `run --resume` work). A final save follows
   * the last write, before the sinks are closed.
   * @defaultValue undefined (no checkpoint)
   */
  readonly checkpoint?: RunCheckpoint | undefined;
  /**
   * File inputs: record values of the app's `file` / `file-list` variables (paths, `file://` and
   * `http(s)://` URLs, Dify file objects) are checked, uploaded once per distinct file and sent as Dify
   * file inputs. The variables come from `GET /parameters`, read once before the first call.
   * @defaultValue undefined (inputs are sent as they are)
   */
  readonly files?: RunBatchFiles | undefined;
  /**
   * The `seq` the ordered output starts at (a resumed source starts past 0).
   * @defaultValue the `seq` of the first item the source yields
   */
  readonly firstSeq?: number | undefined;
  /**
   * With `dify`: read the app's `GET /info` and `GET /parameters` before the first call. A key of another
   * app kind than `app` rejects with `ERR_INVALID_OPTION`; each record is checked against the app's input
   * form (required, `max_length`, select options, number) and fails at once with Dify's own message and
   * no call; inputs the form does not know are reported once through `onWarning`. `false` skips it (for
   * servers that hide `/parameters`). Ignored with `transport`. See `preflight`.
   * @defaultValue true
   */
  readonly preflight?: boolean;
  /** One line per warning (preflight). @defaultValue a process warning (`DifyBatchWarning`, code `DIFY_BATCH_PREFLIGHT`) */
  readonly onWarning?: (message: string) => void;
}

/**
 * Defaults of {@link RunBatchOptions}, keyed by option name. `window` and `batch.size` are derived
 * (functions of the option they depend on): `window(concurrency)` = 16 × concurrency,
 * `batch.size(window)` = min(100, window); see {@link PROCESS_RECORDS_DEFAULTS}.
 */
export const RUN_BATCH_DEFAULTS = Object.freeze({
  ...PROCESS_RECORDS_DEFAULTS,
  progressIntervalMs: 250,
  closeSinks: true,
  adaptiveConcurrency: true,
  preflight: true,
  maxOutageMs: 300_000,
});

const APP_KINDS: readonly RunBatchOptions['app'][] = ['workflow', 'completion', 'chat'];

/**
 * Runs a whole batch: source → credit gate → (rate limit) → concurrent Dify calls with retry →
 * reorder → batches → sink, and resolves with a summary once every result is written.
 *
 * @remarks
 * - Backpressure: at most `window` items exist between reading and the sink accepting their
 *   results, whatever the input size or sink speed; the source is paused otherwise.
 * - Exactly one result per item, in `seq` order unless `ordered: false`. Per-item failures are
 *   results (`ok: false`), never exceptions.
 * - Rejects only on fatal errors: bad options (`ERR_INVALID_OPTION`, checked before anything is
 *   opened or connected), an unreadable source (`ERR_SOURCE_READ`), a failing sink or dead-letter
 *   sink (`ERR_SINK_WRITE`, with the sink's own error as `cause`), abort (`signal.reason`), and
 *   answers no retry can fix, after at most `concurrency` calls: `ERR_DIFY_AUTH` (401/403: "the API
 *   key was rejected (401 …)"), `ERR_DIFY_ROUTE` (a 404 from a route that does not exist: "404 from
 *   <url>: the base URL probably lacks /v1"), `ERR_DIFY_UNREACHABLE` (down for longer than
 *   `maxOutageMs`). Every rejection after the run started carries the partial {@link RunSummary} as
 *   `error.summary` (non-enumerable), and the DifyClient pool and the sinks are closed first
 *   (`close({ failed: true })`), whatever the path.
 * - Each batch's dead letters are written before its results, and a batch counts as written (summary,
 *   progress, credits, source commit) only once both writes succeeded. On rejection the batch being
 *   written is finished, no other starts, and the sinks are closed: nothing reaches a sink after the
 *   promise rejected.
 * - A source that fails part-way (a truncated JSON array or `.gz`, a broken CSV quote) stops reading
 *   but does not waste what was paid for: every item already read finishes its call and is written
 *   (dead letters too), then runBatch rejects with `ERR_SOURCE_READ` naming the last good record
 *   (seq, line, byte offset).
 * - Outages and limits are waited out, not turned into failures: see `maxOutageMs`,
 *   `adaptiveConcurrency` and `retry`.
 *
 * @example
 * ```ts
 * import { runBatch, fromFile, toFile } from 'dify-batch';
 * const summary = await runBatch({
 *   source: fromFile('rows.ndjson', { idField: 'id' }),
 *   sink: toFile('results.ndjson'),
 *   dify: { baseUrl: 'http://127.0.0.1:5001/v1', apiKey: process.env.DIFY_API_KEY! },
 *   app: 'workflow',
 *   concurrency: 32,
 * });
 * console.log(summary.succeeded, summary.failed);
 * ```
 * @category pipeline
 */
export async function runBatch(options: RunBatchOptions): Promise<RunSummary> {
  const closeSinks = options.closeSinks ?? RUN_BATCH_DEFAULTS.closeSinks;
  let run: PreparedRun;
  try {
    // Every option is checked before anything is opened or connected: a bad option leaks nothing.
    run = prepareRun(options, closeSinks);
  } catch (error) {
    if (closeSinks) await closeSinksAfterFailure(options);
    throw error;
  }
  return run.start();
}

interface PreparedRun {
  start(): Promise<RunSummary>;
}

function checkSink(name: string, sink: unknown, required: boolean): void {
  if (sink === undefined && !required) return;
  const s = sink as Partial<ResultSink> | null | undefined;
  checkOption(
    typeof s?.write === 'function' && typeof s.close === 'function',
    name,
    'a ResultSink (`write` and `close` functions)',
    sink,
  );
}

async function closeSinksAfterFailure(options: RunBatchOptions): Promise<void> {
  const closing: Promise<void>[] = [];
  for (const sink of [options.sink, options.deadLetter]) {
    if (typeof sink?.close === 'function') closing.push(Promise.resolve(sink.close({ failed: true })));
  }
  await Promise.allSettled(closing);
}

/** Gives `error` the run's summary (non-enumerable), unless it already carries one or cannot. */
function withSummary(error: unknown, summary: RunSummary): unknown {
  if (typeof error !== 'object' || error === null || !Object.isExtensible(error)) return error;
  if ((error as { summary?: unknown }).summary !== undefined) return error;
  Object.defineProperty(error, 'summary', { value: summary, configurable: true });
  return error;
}

/** Where reading stopped: the last record read in full, for a source error's message. */
function lastGoodRecord(last: Item | undefined): string {
  if (last === undefined) return 'before the first record';
  const where = [
    last.position?.line === undefined ? undefined : `line ${last.position.line}`,
    last.position?.offset === undefined ? undefined : `byte ${last.position.offset}`,
  ].filter((part) => part !== undefined);
  return `after the last good record (seq ${last.seq}${where.length > 0 ? `, ${where.join(', ')}` : ''})`;
}

function prepareRun(options: RunBatchOptions, closeSinks: boolean): PreparedRun {
  const concurrency = checkInteger('concurrency', options.concurrency ?? RUN_BATCH_DEFAULTS.concurrency, 1);
  const window = checkInteger('window', options.window ?? RUN_BATCH_DEFAULTS.window(concurrency), 1);
  checkOption(window >= concurrency, 'window', `at least \`concurrency\` (${concurrency})`, window);
  const batchSize = Math.min(
    checkInteger('batch.size', options.batch?.size ?? RUN_BATCH_DEFAULTS.batch.size(window), 1),
    window,
  );
  const maxWaitMs = checkNumber(
    'batch.maxWaitMs',
    options.batch?.maxWaitMs ?? RUN_BATCH_DEFAULTS.batch.maxWaitMs,
    0,
  );
  const ordered = checkBoolean('ordered', options.ordered ?? RUN_BATCH_DEFAULTS.ordered);
  checkBoolean('closeSinks', closeSinks);
  const { checkpoint } = options;
  checkOption(
    checkpoint === undefined ||
      (typeof checkpoint?.save === 'function' && typeof checkpoint.journal === 'function'),
    'checkpoint',
    'a RunCheckpoint (with save and journal)',
    checkpoint,
  );
  if (options.firstSeq !== undefined) checkInteger('firstSeq', options.firstSeq, 0);
  const progressIntervalMs = checkNumber(
    'progressIntervalMs',
    options.progressIntervalMs ?? RUN_BATCH_DEFAULTS.progressIntervalMs,
    0,
  );
  checkFunction('onProgress', options.onProgress, true);
  checkOneOf('app', options.app, APP_KINDS);
  checkSignal(options.signal);
  checkSignal(options.drainSignal, 'drainSignal');
  checkSink('sink', options.sink, true);
  checkSink('deadLetter', options.deadLetter, false);
  checkOption(
    (options.transport === undefined) !== (options.dify === undefined),
    'transport',
    'exactly one of `transport` or `dify` to be set',
    {
      transport: options.transport === undefined ? undefined : 'function',
      dify: options.dify === undefined ? undefined : 'options',
    },
  );
  const preflightOn = options.dify !== undefined && (options.preflight ?? RUN_BATCH_DEFAULTS.preflight);
  checkOption(typeof preflightOn === 'boolean', 'preflight', 'a boolean', options.preflight);
  checkFunction('onWarning', options.onWarning, true);
  checkFunction('wrapTransport', options.wrapTransport, true);
  // Set by the preflight in start(), before the first record is read.
  let checkRecord: RecordCheck | undefined;
  const mapRecord = buildRequest(options);
  const toRequest = (item: Item): ReturnType<typeof mapRecord> => {
    const request = mapRecord(item);
    checkRecord?.(item, request);
    return request;
  };
  const rateLimiter =
    options.rateLimit === undefined
      ? undefined
      : new TokenBucket({
          ...(options.rateLimit.perSecond === undefined ? {} : { perSecond: options.rateLimit.perSecond }),
          ...(options.rateLimit.perMinute === undefined ? {} : { perMinute: options.rateLimit.perMinute }),
          ...(options.rateLimit.burst === undefined ? {} : { burst: options.rateLimit.burst }),
        });
  const adaptiveOption = options.adaptiveConcurrency ?? RUN_BATCH_DEFAULTS.adaptiveConcurrency;
  const adaptive =
    adaptiveOption === false
      ? undefined
      : new AdaptiveConcurrency({ ...(adaptiveOption === true ? {} : adaptiveOption), max: concurrency });
  const maxOutageMs = options.maxOutageMs ?? RUN_BATCH_DEFAULTS.maxOutageMs;
  const breaker = maxOutageMs === 0 ? undefined : new CircuitBreaker({ maxOutageMs });
  // Checked here, created in start(): the client's pool is the only resource runBatch opens.
  const clientOptions =
    options.dify === undefined ? undefined : { connections: concurrency, ...options.dify };
  if (clientOptions !== undefined) resolveDifyClientOptions(clientOptions, DIFY_CLIENT_DEFAULTS);
  let client: DifyClient | undefined;
  const unwrapped: DifyTransport =
    options.transport ?? ((request, callOptions) => client!.transport(request, callOptions));
  const baseTransport = options.wrapTransport?.(unwrapped) ?? unwrapped;
  const files = options.files;
  if (files !== undefined) checkFiles(files, options.dify !== undefined);
  // The app's file variables, read once when the first call is about to be made (a run that makes no
  // call asks nothing); `undefined` when the app takes no files.
  let fileInputs: Promise<ResolveFileInputsOptions | undefined> | undefined;
  // The preflight's `GET /parameters` body, when it read one: the file variables come from it too.
  let appParameters: Readonly<Record<string, unknown>> | undefined;
  const filesOfApp = (): Promise<ResolveFileInputsOptions | undefined> => {
    fileInputs ??= prepareFiles(files!, client, options, concurrency, appParameters, calls.signal).catch(
      (error: unknown) =>
        filesUnknown(error, () => {
          fileInputs = undefined;
        }),
    );
    return fileInputs;
  };
  // With `files`, calls first go through `withFiles`, which awaits the app's file variables. Once they
  // are known to be none (the common case: the CLI always passes `files`), `current` is swapped for the
  // plain transport, so later calls await nothing but the call itself.
  const withFiles: DifyTransport = async (request, callOptions) => {
    const known = await filesOfApp();
    if (known === undefined) {
      current = baseTransport;
      return baseTransport(request, callOptions);
    }
    const inputs = await resolveFileInputs(request.inputs, known, callOptions.signal);
    return baseTransport({ ...request, inputs }, callOptions);
  };
  let current: DifyTransport = files === undefined ? baseTransport : withFiles;
  const transport: DifyTransport =
    files === undefined ? baseTransport : (request, callOptions) => current(request, callOptions);

  // Aborted with the caller's reason before we unsubscribe, so in-flight calls see that reason.
  const calls = new AbortController();

  let startedAt = performance.now();
  const latency = new LatencyHistogram();
  let written = 0;
  let succeeded = 0;
  let failed = 0;
  let retries = 0;
  let ambiguousRetries = 0;
  let inFlight = 0;
  let peakOutstanding = 0;
  let lastProgressAt = -Infinity;
  let lastRead: Item | undefined;

  // Records read so far, and the error that stopped reading, if one did (processRecords reports it
  // once everything read was written: what was read was paid for).
  let read = 0;
  let sourceError: Error | undefined;
  // Inputs of items not yet written, for the dead-letter sink; bounded by `window` through the gate.
  const pendingInputs = options.deadLetter === undefined ? undefined : new Map<number, Item>();
  // Sink acknowledgement → contiguous watermark → source commit; only tracked when someone listens.
  const committable = isCommittable(options.source) ? options.source : undefined;
  const watermark = committable === undefined && checkpoint === undefined ? undefined : new AckWatermark();

  const progress = (): RunProgress => ({
    read,
    written,
    succeeded,
    failed,
    retries,
    ambiguousRetries,
    inFlight,
    elapsedMs: performance.now() - startedAt,
  });
  let progressThrew = false;
  const summarize = (): RunSummary => {
    const elapsedMs = performance.now() - startedAt;
    return {
      ...progress(),
      elapsedMs,
      throughputPerSec: elapsedMs > 0 ? (written * 1000) / elapsedMs : 0,
      latencyMs: {
        mean: latency.mean,
        p50: latency.quantile(0.5),
        p90: latency.quantile(0.9),
        p99: latency.quantile(0.99),
        max: latency.max,
      },
      peakOutstanding,
      ...(adaptive === undefined
        ? {}
        : { concurrencyLimit: adaptive.limit, concurrencyDecreases: adaptive.decreases }),
    };
  };
  const report = (force: boolean): void => {
    if (options.onProgress === undefined) return;
    const now = performance.now();
    if (!force && now - lastProgressAt < progressIntervalMs) return;
    lastProgressAt = now;
    try {
      options.onProgress(progress());
    } catch (error) {
      // A bug in a progress display must not cost the run (and the calls already paid for).
      if (!progressThrew) warnProgressThrew(error);
      progressThrew = true;
    }
  };

  // Set once the run has failed or been aborted: no batch starts after that, and the rejection
  // waits for the one in progress (`writing`), so nothing reaches a sink after runBatch rejected.
  let stopped = false;
  let writing: Promise<void> | undefined;
  const writeBatch = (results: readonly ItemResult[]): Promise<void> => {
    if (stopped) return Promise.resolve();
    writing = writeBoth(results);
    return writing;
  };
  const writeBoth = async (results: readonly ItemResult[]): Promise<void> => {
    const entries: DeadLetterEntry[] = [];
    if (pendingInputs !== undefined) {
      for (const result of results) {
        const item = pendingInputs.get(result.seq);
        pendingInputs.delete(result.seq);
        if (!result.ok && item !== undefined) entries.push({ item, result });
      }
    }
    // Dead letters first: once the results are written the batch counts as done, so its dead
    // letters must already be safe (a failure in between fails the run before either is counted).
    if (entries.length > 0) await writeTo(options.deadLetter!, 'dead-letter sink', entries);
    await writeTo(options.sink, 'sink', results);
    for (const result of results) {
      if (result.ok) succeeded++;
      else failed++;
      if (result.attempts > 1) retries += result.attempts - 1;
      if (result.ambiguousRetries !== undefined) ambiguousRetries += result.ambiguousRetries;
      latency.record(result.latencyMs);
    }
    if (watermark !== undefined) {
      for (const result of results) watermark.ack(result.seq);
      const moved = committable === undefined ? [] : watermark.takeAdvanced();
      if (moved.length > 0) {
        await committable!.commit(moved, calls.signal).catch((error: unknown) => {
          throw new DifyBatchError(
            'ERR_SOURCE_COMMIT',
            `Committing the source watermark failed: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        });
      }
    }
    written += results.length;
    if (checkpoint !== undefined) await saveCheckpoint(false);
    report(false);
  };

  const syncSinks = async (): Promise<void> => {
    await Promise.all([options.sink.sync?.(), options.deadLetter?.sync?.()]);
  };
  const saveCheckpoint = async (final: boolean): Promise<void> => {
    try {
      await checkpoint!.save({
        watermarks: watermark!.current(),
        written,
        failed,
        outputBytes: options.sink.bytesWritten,
        deadLetterBytes: options.deadLetter?.bytesWritten,
        final,
        syncSinks,
      });
    } catch (error) {
      if (error instanceof DifyBatchError) throw error;
      throw new DifyBatchError(
        'ERR_CHECKPOINT',
        `Saving the checkpoint failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };

  const recovered = checkpoint?.recovered;
  const alreadyWritten = checkpoint?.alreadyWritten;

  // The credit loop: the gate's drain signal means "stop reading, let the rest drain" (a hard abort
  // unsubscribes below); a failing source also only stops reading, and is reported after the drain.
  const results$: Observable<unknown> = of(options.source).pipe(
    processRecords(transport, {
      concurrency,
      window,
      ordered,
      batch: { size: batchSize, maxWaitMs },
      ...(options.firstSeq === undefined ? {} : { firstSeq: options.firstSeq }),
      ...(options.drainSignal === undefined ? {} : { drainSignal: options.drainSignal }),
      write: writeBatch,
      onRead: (item, outstanding) => {
        read++;
        lastRead = item;
        pendingInputs?.set(item.seq, item);
        watermark?.track(item);
        if (outstanding > peakOutstanding) peakOutstanding = outstanding;
      },
      onSourceError: (error) => {
        sourceError = error;
      },
      // An unordered run wrote past its watermark before it crashed: those items only need their ack.
      ...(alreadyWritten === undefined
        ? {}
        : {
            skip: (item: Item) => {
              if (!alreadyWritten.has(item.seq)) return false;
              pendingInputs?.delete(item.seq);
              watermark!.ack(item.seq);
              return true;
            },
          }),
      // Journaled before reordering: a result held for its turn survives a crash and is not paid twice.
      ...(checkpoint === undefined ? {} : { onResult: (result: ItemResult) => checkpoint.journal(result) }),
      toRequest,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(rateLimiter === undefined ? {} : { rateLimiter }),
      ...(adaptive === undefined ? {} : { adaptive }),
      ...(breaker === undefined ? {} : { breaker }),
      signal: calls.signal,
      onAttempt: () => {
        inFlight++;
      },
      onSettled: () => {
        inFlight--;
      },
      ...(recovered === undefined ? {} : { knownResult: (item: Item) => recovered.get(item.seq) }),
      ...(checkpoint?.journalRunId === undefined
        ? {}
        : { onWorkflowStarted: (item: Item, id: string) => checkpoint.journalRunId!(item.seq, item.id, id) }),
    }),
  );

  const closeAll = async (failedRun: boolean): Promise<void> => {
    breaker?.dispose();
    const closing: Promise<void>[] = [];
    if (closeSinks) {
      const closeOptions = failedRun ? { failed: true } : {};
      closing.push(options.sink.close(closeOptions));
      if (options.deadLetter !== undefined) closing.push(options.deadLetter.close(closeOptions));
    }
    if (client !== undefined) closing.push(client.close());
    // Every close is attempted (no descriptor or socket is left open), then the first failure wins.
    const outcomes = await Promise.allSettled(closing);
    const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (rejected !== undefined) throw rejected.reason;
  };

  const start = async (): Promise<RunSummary> => {
    try {
      options.signal?.throwIfAborted();
      if (clientOptions !== undefined) client = new DifyClient(clientOptions);
      if (preflightOn && clientOptions !== undefined) {
        checkRecord = await preflight({
          baseUrl: clientOptions.baseUrl,
          apiKey: clientOptions.apiKey,
          app: options.app,
          warn: options.onWarning ?? warnPreflight,
          onParameters: (parameters) => {
            appParameters = parameters;
          },
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
      }
    } catch (error) {
      await closeAll(true).catch(() => {});
      // A key of another app kind is a configuration error, like a bad option: no summary, no run.
      throw error instanceof InvalidOptionError ? error : withSummary(error, summarize());
    }
    startedAt = performance.now();
    try {
      await new Promise<void>((resolve, reject) => {
        const subscription = results$.subscribe({
          // The last save is not throttled: it records the end (or the drain, or the source error).
          complete: () => {
            if (checkpoint === undefined) resolve();
            else saveCheckpoint(true).then(resolve, reject);
          },
          error: reject,
        });
        const onAbort = (): void => {
          calls.abort(options.signal!.reason);
          subscription.unsubscribe();
          reject(options.signal!.reason);
        };
        options.signal?.addEventListener('abort', onAbort, { once: true });
        subscription.add(() => options.signal?.removeEventListener('abort', onAbort));
      });
    } catch (error) {
      stopped = true;
      await writing?.catch(() => {});
      await closeAll(true).catch(() => {});
      throw withSummary(error, summarize());
    }
    if (sourceError !== undefined) {
      // Everything read was written; the sinks still finish their documents (a JSON array's `]`).
      await closeAll(true).catch(() => {});
      const summary = summarize();
      throw new DifyBatchError(
        'ERR_SOURCE_READ',
        `${sourceError.message} (stopped ${lastGoodRecord(lastRead)}; ${summary.read} records read, ${summary.written} written)`,
        { cause: sourceError, summary },
      );
    }
    try {
      await closeAll(false);
    } catch (error) {
      throw withSummary(error, summarize());
    }
    report(true);
    return summarize();
  };
  return { start };
}

function checkFiles(files: RunBatchFiles, hasClient: boolean): void {
  checkObject('files', files);
  if (files.root !== undefined) checkString('files.root', files.root);
  if (files.uploadRemote !== undefined) checkBoolean('files.uploadRemote', files.uploadRemote);
  if (files.concurrency !== undefined) checkInteger('files.concurrency', files.concurrency, 1);
  // Its constructor checks every entry: a bad one stops the run before it starts.
  new RemoteHostAllowList(files.allowHosts ?? []);
  checkOption(
    hasClient || (files.variables !== undefined && files.upload !== undefined),
    'files',
    '`variables` and `upload` when runBatch has a `transport` instead of `dify`',
    Object.keys(files),
  );
}

/**
 * What a failed `GET /parameters` means for the run. A retryable failure (network, 5xx, timeout) fails
 * this attempt, so the call's retry and the circuit breaker handle it, and the next attempt asks again
 * (`forget`); a rejected key is fatal as for calls. A route that does not exist (the base URL lacks
 * /v1) leaves file inputs off: the calls report that route problem themselves. Anything else leaves
 * them off with a warning.
 */
function filesUnknown(error: unknown, forget: () => void): undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if ((error as { retryable?: unknown } | null)?.retryable === true || code === 'ERR_DIFY_AUTH') {
    forget();
    throw error;
  }
  if (code !== 'ERR_DIFY_ROUTE') {
    const message = error instanceof Error ? error.message : String(error);
    process.emitWarning(
      redactSecrets(`cannot read the app's GET /parameters (${message}): file inputs are sent as they are`),
      { type: 'DifyBatchWarning', code: 'DIFY_BATCH_NO_PARAMETERS' },
    );
  }
  return undefined;
}

/** Reads the app's file variables (unless given) and sets up the uploads; `undefined` when it takes no files. */
async function prepareFiles(
  files: RunBatchFiles,
  client: DifyClient | undefined,
  options: RunBatchOptions,
  concurrency: number,
  appParameters: Readonly<Record<string, unknown>> | undefined,
  signal: AbortSignal,
): Promise<ResolveFileInputsOptions | undefined> {
  const variables =
    files.variables ?? readFileVariables(appParameters ?? (await client!.parameters({ signal })));
  if (variables.variables.size === 0) return undefined;
  const user = options.user ?? 'dify-batch';
  const upload =
    files.upload ?? ((path, o) => client!.uploadFile(path, { user, filename: o.filename, signal: o.signal }));
  return {
    files: variables,
    root: files.root ?? process.cwd(),
    uploadRemote: files.uploadRemote ?? false,
    allowHosts: new RemoteHostAllowList(files.allowHosts ?? []),
    uploads: new FileUploads({
      upload,
      concurrency: Math.min(concurrency, files.concurrency ?? concurrency),
      store: files.store,
    }),
  };
}

/** Writes one batch to `sink`; any failure becomes the documented fatal ERR_SINK_WRITE, cause attached. */
async function writeTo<T>(sink: ResultSink<T>, name: string, batch: readonly T[]): Promise<void> {
  try {
    await sink.write(batch);
  } catch (error) {
    if (error instanceof DifyBatchError && error.code === 'ERR_SINK_WRITE') throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new DifyBatchError('ERR_SINK_WRITE', redactSecrets(`the ${name} failed: ${message}`), {
      cause: error,
    });
  }
}

/** The default `onWarning`: a process warning (printed on stderr unless the process listens). */
function warnPreflight(message: string): void {
  process.emitWarning(redactSecrets(message), { type: 'DifyBatchWarning', code: 'DIFY_BATCH_PREFLIGHT' });
}

/**
 * Reports the first error an `onProgress` callback throws as a process warning (`DifyBatchWarning`,
 * code `DIFY_BATCH_ON_PROGRESS`, printed once on stderr unless the process listens for 'warning');
 * later throws of the same run are ignored.
 */
function warnProgressThrew(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(
    redactSecrets(`onProgress threw (the run goes on; later throws are ignored): ${message}`),
    { type: 'DifyBatchWarning', code: 'DIFY_BATCH_ON_PROGRESS' },
  );
}
