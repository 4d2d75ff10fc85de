import type { ItemResult } from '../../core/ItemResult.js';
import { LatencyHistogram } from '../../internal/LatencyHistogram.js';

/** Failures of one error code: how many, and the first few records as examples. */
export interface ErrorCodeStats {
  readonly count: number;
  readonly examples: readonly { readonly seq: number; readonly id: string; readonly message: string }[];
}

/** The `_error` of one dead-letter line. */
export interface ItemFailureLine {
  readonly seq: number;
  readonly id: string;
  readonly code: string;
  readonly message: string;
}

/** One point of the dashboard's chart. */
export interface JobSample {
  /** Milliseconds since the epoch. */
  readonly t: number;
  /** Results written per second since the previous sample. */
  readonly throughput: number;
  readonly p50: number;
  readonly p90: number;
}

/** What job.json keeps of the statistics, so a restart does not forget the failures so far. */
export interface JobStatsSnapshot {
  readonly written: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly retries: number;
  readonly errors_by_code: Readonly<Record<string, ErrorCodeStats>>;
}

const EXAMPLES_PER_CODE = 3;
const MAX_SAMPLES = 600;

/**
 * A job's live statistics, fed with every written result: counts, latency percentiles (of the results
 * since the gateway started, a histogram is not persisted), failures by code with examples, and a
 * time series for the chart.
 */
export class JobStats {
  written: number;
  succeeded: number;
  failed: number;
  /** Retries of earlier runs (before a restart); `retries` adds this run's. */
  readonly #baseRetries: number;
  #runRetries = 0;
  read = 0;
  readonly #errors: Map<string, { count: number; examples: ErrorCodeStats['examples'][number][] }>;
  readonly #latency = new LatencyHistogram();
  /** Latencies since the last sample, for the chart's per-interval percentiles. */
  #window = new LatencyHistogram();
  readonly samples: JobSample[] = [];
  #lastSample: { t: number; written: number } | undefined;
  #runStartedAt: number | undefined;
  #runStartWritten = 0;

  constructor(snapshot: JobStatsSnapshot) {
    this.written = snapshot.written;
    this.succeeded = snapshot.succeeded;
    this.failed = snapshot.failed;
    this.#baseRetries = snapshot.retries;
    this.#errors = new Map(
      Object.entries(snapshot.errors_by_code).map(([code, s]) => [
        code,
        { count: s.count, examples: [...s.examples] },
      ]),
    );
  }

  get retries(): number {
    return this.#baseRetries + this.#runRetries;
  }

  /**
   * A resumed run: the checkpoint's counts, and the failures rebuilt from the dead letters it covers
   * (job.json's copy may count results past the checkpoint, which are written again).
   */
  restore(written: number, failed: number, deadLetters: readonly ItemFailureLine[]): void {
    this.written = written;
    this.failed = failed;
    this.succeeded = written - failed;
    this.#errors.clear();
    for (const line of deadLetters) this.#countFailure(line.code, line);
  }

  /** A run (the first, or a resume) starts now: the throughput counts from here. */
  startRun(now: number): void {
    this.#runStartedAt = now;
    this.#runStartWritten = this.written;
    this.#lastSample = { t: now, written: this.written };
  }

  /** The pipeline's own counts of this run. */
  progress(read: number, retries: number): void {
    this.read = read;
    this.#runRetries = retries;
  }

  /** Counts one written result. */
  add(result: ItemResult): void {
    this.written++;
    this.#latency.record(result.latencyMs);
    this.#window.record(result.latencyMs);
    if (result.ok) {
      this.succeeded++;
      return;
    }
    this.failed++;
    this.#countFailure(result.error.code, { seq: result.seq, id: result.id, message: result.error.message });
  }

  #countFailure(code: string, example: { seq: number; id: string; message: string }): void {
    let entry = this.#errors.get(code);
    if (entry === undefined) {
      entry = { count: 0, examples: [] };
      this.#errors.set(code, entry);
    }
    entry.count++;
    if (entry.examples.length < EXAMPLES_PER_CODE) {
      entry.examples.push({ seq: example.seq, id: example.id, message: example.message });
    }
  }

  /** Adds a chart point (called about once a second while the job runs). */
  sample(now: number): void {
    const last = this.#lastSample ?? { t: now, written: this.written };
    const seconds = Math.max(0.001, (now - last.t) / 1000);
    this.samples.push({
      t: now,
      throughput: round((this.written - last.written) / seconds),
      p50: round(this.#window.count === 0 ? 0 : this.#window.quantile(0.5)),
      p90: round(this.#window.count === 0 ? 0 : this.#window.quantile(0.9)),
    });
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
    this.#window = new LatencyHistogram();
    this.#lastSample = { t: now, written: this.written };
  }

  /** Results per second since this run started. */
  throughput(now: number): number {
    if (this.#runStartedAt === undefined) return 0;
    const seconds = (now - this.#runStartedAt) / 1000;
    return seconds <= 0 ? 0 : round((this.written - this.#runStartWritten) / seconds);
  }

  latency(): { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number } {
    if (this.#latency.count === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
    return {
      p50: round(this.#latency.quantile(0.5)),
      p90: round(this.#latency.quantile(0.9)),
      p99: round(this.#latency.quantile(0.99)),
      max: round(this.#latency.max),
    };
  }

  errorsByCode(): Record<string, ErrorCodeStats> {
    return Object.fromEntries(
      [...this.#errors].map(([code, s]) => [code, { count: s.count, examples: [...s.examples] }]),
    );
  }

  snapshot(): JobStatsSnapshot {
    return {
      written: this.written,
      succeeded: this.succeeded,
      failed: this.failed,
      retries: this.retries,
      errors_by_code: this.errorsByCode(),
    };
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
