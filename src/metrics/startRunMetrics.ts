import type { ItemResult } from '../core/ItemResult.js';
import type { RunProgress } from '../pipeline/RunSummary.js';
import type { ResultSink } from '../sinks/ResultSink.js';
import { BatchMetrics } from './BatchMetrics.js';
import { startMetricsServer } from './startMetricsServer.js';

/** Metrics of one `run`, served on their own port. */
export interface RunMetrics {
  readonly url: string;
  readonly metrics: BatchMetrics;
  /** Wraps the result sink: every result written is counted (items, errors by code, retries, latency). */
  observe(sink: ResultSink): ResultSink;
  /** Feeds runBatch's `onProgress` (in-flight calls, items read but not yet written). */
  progress(progress: RunProgress): void;
  close(): Promise<void>;
}

/**
 * Starts the metrics endpoint of `dify-batch run --metrics-port N`: the gateway's metric names
 * ({@link BatchMetrics}), fed from the results as the sink accepts them and from the progress hook.
 *
 * @remarks
 * For a run, `dify_batch_upstream_duration_seconds` observes each record's latency (first attempt to
 * final outcome, retries and backoff included), `dify_batch_queue_depth` is the records read and not yet
 * written nor in flight, and `dify_batch_requests_total` / `dify_batch_concurrency_limit` stay unused.
 * @category metrics
 */
export async function startRunMetrics(port: number, host = '127.0.0.1'): Promise<RunMetrics> {
  const metrics = new BatchMetrics();
  const server = await startMetricsServer({ metrics, port, host });
  const record = (result: ItemResult): void => {
    metrics.itemDone(result.ok ? undefined : (result.error.difyCode ?? result.error.code));
    if (result.attempts > 1) metrics.retries.inc(result.attempts - 1);
    if (result.attempts > 0) {
      metrics.upstreamDuration.observe({ outcome: result.ok ? 'ok' : 'error' }, result.latencyMs / 1000);
    }
  };
  return {
    url: server.url,
    metrics,
    observe: (sink) => ({
      write: async (batch) => {
        await sink.write(batch);
        for (const result of batch) record(result);
      },
      close: (options) => sink.close(options),
      // A file sink's offset and fsync stay visible through the wrapper: the checkpoint needs both.
      get bytesWritten() {
        return sink.bytesWritten;
      },
      sync: async () => {
        await sink.sync?.();
      },
    }),
    progress: (p) => {
      metrics.inFlight.set(p.inFlight);
      metrics.queueDepth.set(Math.max(0, p.read - p.written - p.inFlight));
    },
    close: () => server.close(),
  };
}
