import { concatMap, type Observable, type OperatorFunction, pipe, tap } from 'rxjs';
import { InvalidOptionError } from '../core/InvalidOptionError.js';
import type { Item } from '../core/Item.js';
import type { ItemFailure, ItemResult } from '../core/ItemResult.js';
import { DifyClient, type DifyClientOptions } from '../dify/DifyClient.js';
import type { DifyTransport } from '../dify/DifyRequest.js';
import { LatencyHistogram } from '../internal/LatencyHistogram.js';
import { AdaptiveConcurrency, type AdaptiveConcurrencyOptions } from '../operators/AdaptiveConcurrency.js';
import { batch } from '../operators/batch.js';
import { CircuitBreaker } from '../operators/CircuitBreaker.js';
import { callDify } from '../operators/callDify.js';
import { creditGate } from '../operators/creditGate.js';
import { reorder } from '../operators/reorder.js';
import type { RetryPolicy } from '../operators/retryBackoff.js';
import { TokenBucket } from '../operators/TokenBucket.js';
import type { ResultSink } from '../sinks/ResultSink.js';
import type { DeadLetterEntry } from '../sinks/toDeadLetter.js';
import { buildRequest, type RequestMapping } from './buildRequest.js';
import type { RunProgress, RunSummary } from './RunSummary.js';

/** Options of {@link runBatch}. Exactly one of `transport` and `dify` is required. */
export interface RunBatchOptions extends RequestMapping {
  /** Pull-based items (`fromFile`, `fromReadable`, `fromAsyncIterable`, or your own). */
  readonly source: AsyncIterable<Item>;
  /** Receives every result in batches; its `write()` promise is the backpressure signal. */
  readonly sink: ResultSink;
  /** Receives each failed result together with its input (a re-runnable file). */
  readonly deadLetter?: ResultSink<DeadLetterEntry>;
  /** How calls are made. Pass a `DifyClient#transport`, or an in-process function in tests. */
  readonly transport?: DifyTransport;
  /** Or let runBatch create (and close) a DifyClient, its pool sized to `concurrency`. */
  readonly dify?: Omit<DifyClientOptions, 'connections'> & { readonly connections?: number };
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
  /** Called after each written batch, at most every `progressIntervalMs`, and once at the end. */
  readonly onProgress?: (progress: RunProgress) => void;
  /** @defaultValue 250 */
  readonly progressIntervalMs?: number;
  /** Close `sink` and `deadLetter` at the end. @defaultValue true */
  readonly closeSinks?: boolean;
}

/** Documented defaults of {@link RunBatchOptions} that do not depend on other options. */
export const RUN_BATCH_DEFAULTS = Object.freeze({
  concurrency: 16,
  windowPerConcurrency: 16,
  ordered: true,
  batchSize: 100,
  batchMaxWaitMs: 50,
  progressIntervalMs: 250,
  closeSinks: true,
  adaptiveConcurrency: true,
  maxOutageMs: 300_000,
});

function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(name, 'an integer ≥ 1', value);
  }
  return value;
}

/**
 * Runs a whole batch: source → credit gate → (rate limit) → concurrent Dify calls with retry →
 * reorder → batches → sink, and resolves with a summary once every result is written.
 *
 * @remarks
 * - Backpressure: at most `window` items exist between reading and the sink accepting their
 *   results, whatever the input size or sink speed; the source is paused otherwise.
 * - Exactly one result per item, in `seq` order unless `ordered: false`. Per-item failures are
 *   results (`ok: false`), never exceptions.
 * - Rejects only on fatal errors: bad options (synchronously checked, `ERR_INVALID_OPTION`), an
 *   unreadable source (`ERR_SOURCE_READ`), a failing sink (`ERR_SINK_WRITE`), abort, and answers no
 *   retry can fix, after at most `concurrency` calls: `ERR_DIFY_AUTH` (401/403: "the API key was
 *   rejected (401 …)"), `ERR_DIFY_ROUTE` (a 404 from a route that does not exist: "404 from <url>: the
 *   base URL probably lacks /v1"), `ERR_DIFY_UNREACHABLE` (down for longer than `maxOutageMs`).
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
  const concurrency = positiveInt('concurrency', options.concurrency ?? RUN_BATCH_DEFAULTS.concurrency);
  const window = positiveInt(
    'window',
    options.window ?? concurrency * RUN_BATCH_DEFAULTS.windowPerConcurrency,
  );
  if (window < concurrency)
    throw new InvalidOptionError('window', `an integer ≥ concurrency (${concurrency})`, window);
  const batchSize = Math.min(
    positiveInt('batch.size', options.batch?.size ?? RUN_BATCH_DEFAULTS.batchSize),
    window,
  );
  const maxWaitMs = options.batch?.maxWaitMs ?? RUN_BATCH_DEFAULTS.batchMaxWaitMs;
  if (typeof maxWaitMs !== 'number' || !(maxWaitMs >= 0)) {
    throw new InvalidOptionError('batch.maxWaitMs', 'a number ≥ 0', maxWaitMs);
  }
  const ordered = options.ordered ?? RUN_BATCH_DEFAULTS.ordered;
  const progressIntervalMs = options.progressIntervalMs ?? RUN_BATCH_DEFAULTS.progressIntervalMs;
  const closeSinks = options.closeSinks ?? RUN_BATCH_DEFAULTS.closeSinks;
  if ((options.transport === undefined) === (options.dify === undefined)) {
    throw new InvalidOptionError('transport', 'exactly one of `transport` or `dify` to be set', {
      transport: options.transport === undefined ? undefined : 'function',
      dify: options.dify === undefined ? undefined : 'options',
    });
  }
  const toRequest = buildRequest(options);
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
  const client =
    options.dify === undefined ? undefined : new DifyClient({ connections: concurrency, ...options.dify });
  const transport = options.transport ?? client!.transport;
  options.signal?.throwIfAborted();

  // Aborted with the caller's reason before we unsubscribe, so in-flight calls see that reason.
  const calls = new AbortController();

  const startedAt = performance.now();
  const latency = new LatencyHistogram();
  let written = 0;
  let succeeded = 0;
  let failed = 0;
  let retries = 0;
  let ambiguousRetries = 0;
  let inFlight = 0;
  let peakOutstanding = 0;
  let lastProgressAt = -Infinity;

  // The gate's signal means "stop reading, let the rest drain"; a hard abort unsubscribes below.
  const gate = creditGate(options.source, {
    window,
    ...(options.drainSignal === undefined ? {} : { signal: options.drainSignal }),
  });
  // Inputs of items not yet written, for the dead-letter sink; bounded by `window` through the gate.
  const pendingInputs = options.deadLetter === undefined ? undefined : new Map<number, Item>();

  const progress = (): RunProgress => ({
    read: gate.pulled,
    written,
    succeeded,
    failed,
    retries,
    ambiguousRetries,
    inFlight,
    elapsedMs: performance.now() - startedAt,
  });
  const report = (force: boolean): void => {
    if (options.onProgress === undefined) return;
    const now = performance.now();
    if (!force && now - lastProgressAt < progressIntervalMs) return;
    lastProgressAt = now;
    options.onProgress(progress());
  };

  const writeBatch = async (results: readonly ItemResult[]): Promise<void> => {
    await options.sink.write(results);
    const entries: DeadLetterEntry[] = [];
    for (const result of results) {
      if (result.ok) succeeded++;
      else failed++;
      if (result.attempts > 1) retries += result.attempts - 1;
      if (result.ambiguousRetries !== undefined) ambiguousRetries += result.ambiguousRetries;
      latency.record(result.latencyMs);
      if (pendingInputs === undefined) continue;
      const item = pendingInputs.get(result.seq);
      pendingInputs.delete(result.seq);
      if (!result.ok && item !== undefined) entries.push({ item, result: result as ItemFailure });
    }
    if (entries.length > 0) await options.deadLetter!.write(entries);
    written += results.length;
    gate.release(results.length);
    report(false);
  };

  const order: OperatorFunction<ItemResult, ItemResult> = ordered
    ? reorder<ItemResult>({ maxBuffered: window })
    : pipe();

  const results$: Observable<void> = gate.items.pipe(
    tap((item) => {
      pendingInputs?.set(item.seq, item);
      if (gate.outstanding > peakOutstanding) peakOutstanding = gate.outstanding;
    }),
    callDify(transport, {
      concurrency,
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
    }),
    order,
    batch<ItemResult>({ size: batchSize, maxWaitMs }),
    concatMap(writeBatch),
  );

  const closeAll = async (): Promise<void> => {
    breaker?.dispose();
    const closing: Promise<void>[] = [];
    if (closeSinks) {
      closing.push(options.sink.close());
      if (options.deadLetter !== undefined) closing.push(options.deadLetter.close());
    }
    if (client !== undefined) closing.push(client.close());
    await Promise.all(closing);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const subscription = results$.subscribe({ complete: resolve, error: reject });
      const onAbort = (): void => {
        calls.abort(options.signal!.reason);
        subscription.unsubscribe();
        reject(options.signal!.reason);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      subscription.add(() => options.signal?.removeEventListener('abort', onAbort));
    });
  } catch (error) {
    await closeAll().catch(() => {});
    throw error;
  }
  await closeAll();
  report(true);
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
}
