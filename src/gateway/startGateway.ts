import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Tracer, trace } from '@opentelemetry/api';
import { type Logger, pino } from 'pino';
import {
  checkHttpUrl,
  checkInteger,
  checkIntegerIn,
  checkOption,
  checkString,
} from '../internal/checkOption.js';
import { BatchMetrics } from '../metrics/BatchMetrics.js';
import type { RetryPolicy } from '../operators/retryBackoff.js';
import { createGatewayHandler } from './GatewayHandler.js';
import { createJobsHandler } from './jobs/createJobsHandler.js';
import { dashboardDirectory } from './jobs/dashboardDirectory.js';
import { JobKeys } from './jobs/JobKeys.js';
import { JobManager } from './jobs/JobManager.js';
import { UpstreamClient } from './UpstreamClient.js';
import { UpstreamScheduler } from './UpstreamScheduler.js';

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** The upstream Dify Service API base URL, `/v1` included. The gateway calls no other host. */
  readonly upstream: string;
  /**
   * The app key sent upstream for every call. Unset, each caller's own `Authorization: Bearer …` is
   * forwarded (and required: 401 without it).
   * @defaultValue undefined
   */
  readonly apiKey?: string | undefined;
  /** @defaultValue 0 (an ephemeral port) */
  readonly port?: number;
  /** @defaultValue '127.0.0.1' */
  readonly host?: string;
  /** Elements per batch at most; more is 413. @defaultValue 1000 */
  readonly maxItems?: number;
  /** Request body bytes at most; more is 413 and the rest is not read. @defaultValue 10485760 (10 MiB) */
  readonly maxBodyBytes?: number;
  /** Upstream calls in flight at most, over all callers (the adaptive limit's ceiling). @defaultValue 16 */
  readonly concurrency?: number;
  /** Items waiting for an upstream slot at most, over all callers; a batch that does not fit is 429. Must be ≥ maxItems. @defaultValue 10000 */
  readonly queue?: number;
  /** Retry policy of every upstream call; unset fields take RETRY_BACKOFF_DEFAULTS. @defaultValue undefined */
  readonly retry?: Readonly<RetryPolicy> | undefined;
  /** Where metrics are counted and `GET /metrics` reads. @defaultValue a new {@link BatchMetrics} */
  readonly metrics?: BatchMetrics | undefined;
  /**
   * A pino logger for one JSON line per batch request; the Authorization, proxy-authorization and cookie
   * headers are always redacted (a child logger adds the redaction).
   * @defaultValue a silent logger
   */
  readonly logger?: Logger | undefined;
  /**
   * Spans: one server span per batch request, one client span per upstream attempt, its context sent
   * upstream as `traceparent` by the registered propagator.
   * @defaultValue `trace.getTracer('dify-batch')` (a no-op until an OpenTelemetry provider is registered)
   */
  readonly tracer?: Tracer | undefined;
  /**
   * The async job API (`/v1/jobs`) and the dashboard (`GET /`): jobs are kept in `dataDir` and resumed
   * from their checkpoints when a gateway starts on the same `dataDir`. With `secret`, callers' keys are
   * stored sealed (AES-256-GCM) so their jobs resume without them; without it (and without `apiKey`) an
   * interrupted job waits for its owner's next call. Unset, the gateway has no job routes.
   * @defaultValue undefined
   */
  readonly jobs?:
    | {
        readonly dataDir: string;
        /** @defaultValue undefined */
        readonly secret?: string | undefined;
        /** @defaultValue the package's `assets/dashboard` */
        readonly dashboardDir?: string | undefined;
      }
    | undefined;
  /**
   * Aborting closes the gateway at once: batches in progress stop calling upstream and their
   * connections are dropped (`close()` is the graceful way). @defaultValue undefined
   */
  readonly signal?: AbortSignal | undefined;
}

/** Defaults of {@link GatewayOptions}. */
export const GATEWAY_DEFAULTS = Object.freeze({
  port: 0,
  host: '127.0.0.1',
  maxItems: 1000,
  maxBodyBytes: 10 * 1024 * 1024,
  concurrency: 16,
  queue: 10_000,
});

/** Header paths redacted from every log line. */
export const GATEWAY_REDACTED_LOG_PATHS: readonly string[] = Object.freeze([
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
]);

/** A running gateway. */
export interface Gateway {
  /** Base URL, e.g. `http://127.0.0.1:8080`; batch routes are under `/v1`. */
  readonly url: string;
  readonly port: number;
  readonly metrics: BatchMetrics;
  /** Stops accepting requests, waits for the ones in progress, closes the upstream pool. */
  close(): Promise<void>;
}

/**
 * Starts the batch gateway: the `POST /v1/workflows/run/batch` endpoint Dify lacks (also
 * `/v1/completion-messages/batch` and `/v1/chat-messages/batch`), in front of one upstream Dify.
 *
 * @remarks
 * - Body: `{ "inputs": [ {...}, ... ], "user": "u1", "response_mode": "blocking" }`; each element is one
 *   upstream call (chat/completion: the element's `query` field is the query, the rest its inputs).
 * - **200** when every element succeeded, **207** when some failed: `{ results, succeeded, failed,
 *   individual_errors }`, `results[i]` for `inputs[i]`, either `{ status: 200, data: <Dify's body> }` or
 *   `{ status, error: { code, message } }`. A workflow that ran and failed counts as failed.
 * - **400** `{code, message, status}` for a malformed envelope, **401** without a key, **413** over
 *   `maxItems`/`maxBodyBytes`, **429** + `Retry-After` when the queue is full: nothing is called then.
 * - `Accept: application/x-ndjson` streams one line per result (`{ index, status, data | error }`) in input
 *   order as soon as each prefix is ready, then a summary line `{ succeeded, failed, individual_errors }`.
 * - One scheduler for all callers: `concurrency` (AIMD-adapted on rate limits), a FIFO queue and the retry
 *   policy. A caller that disconnects cancels its calls in flight; its calls not yet started are never made.
 * - The key never appears in a log line, an error or a metric label.
 *
 * @example
 * ```ts
 * import { startGateway } from 'dify-batch';
 * import { startEmulator } from 'dify-batch/emulator';
 *
 * const emulator = await startEmulator();
 * const gateway = await startGateway({ upstream: emulator.url, apiKey: 'app-EmulatorWorkflowKey00001' });
 * const response = await fetch(`${gateway.url}/v1/workflows/run/batch`, {
 *   method: 'POST',
 *   headers: { 'Content-Type': 'application/json' },
 *   body: JSON.stringify({ inputs: [{ id: 1 }, { id: 2, __fault: '500' }], user: 'u1' }),
 * });
 * const body = await response.json();
 * console.log(response.status, body.succeeded, body.failed, body.individual_errors);
 * await gateway.close();
 * await emulator.close();
 * // Output: 207 1 1 [ 1 ]
 * ```
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for a bad option, before anything listens.
 * @category gateway
 */
export async function startGateway(options: Readonly<GatewayOptions>): Promise<Gateway> {
  const o = { ...GATEWAY_DEFAULTS, ...options };
  const upstreamUrl = checkHttpUrl('upstream', o.upstream, { example: 'such as http://127.0.0.1:5001/v1' });
  checkOption(
    o.apiKey === undefined || (typeof o.apiKey === 'string' && /^\S+$/.test(o.apiKey)),
    'apiKey',
    'a non-empty key without spaces',
    '[REDACTED]', // never the key, even a bad one
  );
  checkIntegerIn('port', o.port, 0, 65_535);
  checkInteger('maxItems', o.maxItems, 1);
  checkInteger('maxBodyBytes', o.maxBodyBytes, 1);
  checkInteger('concurrency', o.concurrency, 1);
  checkInteger('queue', o.queue, o.maxItems);
  checkString('host', o.host);
  if (o.jobs !== undefined) checkString('jobs.dataDir', o.jobs.dataDir);
  o.signal?.throwIfAborted();

  const metrics = o.metrics ?? new BatchMetrics();
  const scheduler = new UpstreamScheduler({
    concurrency: o.concurrency,
    queue: o.queue,
    retry: o.retry,
    metrics,
  });
  const upstream = new UpstreamClient(upstreamUrl, o.concurrency);
  const logger = (o.logger ?? pino({ enabled: false })).child(
    { component: 'gateway' },
    { redact: [...GATEWAY_REDACTED_LOG_PATHS] },
  );
  const shutdown = new AbortController();
  // Ends event streams and uploads on close; synchronous batches still finish gracefully.
  const jobsShutdown = new AbortController();
  let jobs: JobManager | undefined;
  if (o.jobs !== undefined) {
    jobs = new JobManager({
      dataDir: o.jobs.dataDir,
      upstream: upstreamUrl.href,
      scheduler,
      apiKey: o.apiKey,
      keys: o.jobs.secret === undefined || o.jobs.secret === '' ? undefined : new JobKeys(o.jobs.secret),
      retry: o.retry,
    });
    await jobs.open();
  }
  const handler = createGatewayHandler({
    shutdown: shutdown.signal,
    upstream,
    scheduler,
    metrics,
    apiKey: o.apiKey,
    maxItems: o.maxItems,
    maxBodyBytes: o.maxBodyBytes,
    logger,
    tracer: o.tracer ?? trace.getTracer('dify-batch'),
    jobs:
      jobs === undefined
        ? undefined
        : createJobsHandler({
            manager: jobs,
            concurrency: o.concurrency,
            maxBodyBytes: o.maxBodyBytes,
            dashboardDir: o.jobs?.dashboardDir ?? dashboardDirectory(),
            shutdown: jobsShutdown.signal,
          }),
  });
  const inProgress = new Set<Promise<void>>();
  const server = createServer({ noDelay: true, requestTimeout: 0 }, (req, res) => {
    const handled = handler(req, res);
    inProgress.add(handled);
    handled.finally(() => inProgress.delete(handled));
  });
  // Batches can take minutes; a keep-alive client should not see its idle connection cut first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await jobs?.close();
    await upstream.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Jobs stop at their checkpoint (they resume on the next start); event streams end.
      jobsShutdown.abort(new Error('the gateway is closing'));
      await jobs?.close();
      // Requests in progress finish; then no connection is worth keeping (a keep-alive one may not
      // look idle to the server yet).
      while (inProgress.size > 0) await Promise.all(inProgress);
      server.closeAllConnections();
      await closed;
      await upstream.close();
      // Kept until now: an abort during a graceful close still cuts the batches in progress short.
      o.signal?.removeEventListener('abort', onAbort);
    })();
    return closing;
  };
  const onAbort = (): void => {
    shutdown.abort(o.signal?.reason);
    close().catch(() => {});
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  logger.info({ url: `http://${host}:${port}`, upstream: upstreamUrl.origin }, 'gateway listening');
  return { url: `http://${host}:${port}`, port, metrics, close };
}
