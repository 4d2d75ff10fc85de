import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Options of {@link BatchMetrics}. */
export interface BatchMetricsOptions {
  /**
   * Where the metrics live. Each BatchMetrics gets its own by default: no hidden global registry, so
   * two gateways (or a gateway and a run) in one process never mix their numbers.
   * @defaultValue a new prom-client `Registry`
   */
  readonly registry?: Registry;
  /** Also export the process metrics (CPU, resident memory, heap, event-loop lag). @defaultValue true */
  readonly processMetrics?: boolean;
  /** Upstream latency histogram buckets, in seconds. @defaultValue BATCH_METRICS_DEFAULTS.latencyBuckets */
  readonly latencyBuckets?: readonly number[];
}

/** Defaults of {@link BatchMetricsOptions}. */
export const BATCH_METRICS_DEFAULTS = Object.freeze({
  processMetrics: true,
  latencyBuckets: Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]),
});

/**
 * The Prometheus metrics of the gateway and of `run` (prom-client), all prefixed `dify_batch_`.
 *
 * @remarks
 * Labels are closed sets (route names, outcomes, error codes): never a key, a user or an input, so a
 * metric label can neither leak a secret nor explode in cardinality.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `dify_batch_requests_total` | counter | `route`, `status` (gateway HTTP requests) |
 * | `dify_batch_items_total` | counter | `outcome` = `succeeded`/`failed` |
 * | `dify_batch_upstream_duration_seconds` | histogram | `outcome` = `ok`/`error` (one upstream attempt; for `run`, one record, retries included) |
 * | `dify_batch_retries_total` | counter | |
 * | `dify_batch_errors_total` | counter | `code` (final per-item errors: Dify's code or ours) |
 * | `dify_batch_upstream_in_flight` | gauge | |
 * | `dify_batch_queue_depth` | gauge | (items admitted, waiting for an upstream slot) |
 * | `dify_batch_concurrency_limit` | gauge | (the adaptive limit) |
 * @category metrics
 */
export class BatchMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'status'>;
  readonly items: Counter<'outcome'>;
  readonly upstreamDuration: Histogram<'outcome'>;
  readonly retries: Counter;
  readonly errors: Counter<'code'>;
  readonly inFlight: Gauge;
  readonly queueDepth: Gauge;
  readonly concurrencyLimit: Gauge;

  constructor(options: Readonly<BatchMetricsOptions> = {}) {
    const o = { ...BATCH_METRICS_DEFAULTS, ...options };
    this.registry = o.registry ?? new Registry();
    const registers = [this.registry];
    if (o.processMetrics) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'dify_batch_requests_total',
      help: 'Gateway HTTP requests by route and response status',
      labelNames: ['route', 'status'] as const,
      registers,
    });
    this.items = new Counter({
      name: 'dify_batch_items_total',
      help: 'Items (batch elements or records) finished, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: 'dify_batch_upstream_duration_seconds',
      help: 'Latency of upstream Dify calls',
      labelNames: ['outcome'] as const,
      buckets: [...o.latencyBuckets],
      registers,
    });
    this.retries = new Counter({
      name: 'dify_batch_retries_total',
      help: 'Upstream attempts beyond the first',
      registers,
    });
    this.errors = new Counter({
      name: 'dify_batch_errors_total',
      help: 'Failed items by error code',
      labelNames: ['code'] as const,
      registers,
    });
    this.inFlight = new Gauge({
      name: 'dify_batch_upstream_in_flight',
      help: 'Upstream calls in flight',
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'dify_batch_queue_depth',
      help: 'Items admitted and waiting for an upstream slot',
      registers,
    });
    this.concurrencyLimit = new Gauge({
      name: 'dify_batch_concurrency_limit',
      help: 'The adaptive upstream concurrency limit',
      registers,
    });
  }

  /** Counts one finished item; `errorCode` when it failed. */
  itemDone(errorCode?: string): void {
    if (errorCode === undefined) {
      this.items.inc({ outcome: 'succeeded' });
    } else {
      this.items.inc({ outcome: 'failed' });
      this.errors.inc({ code: errorCode });
    }
  }

  /** The Prometheus text exposition and its content type. */
  async scrape(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
