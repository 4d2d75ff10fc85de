/**
 * Messages and shared types between the bench orchestrator (bench/main.ts) and its child processes
 * (bench/contender-worker.ts, bench/emulator-server.ts). Each contender runs in its own process so CPU and
 * peak RSS are its own.
 */
import type { EmulatorOptions } from '../src/emulator/EmulatorOptions.js';

/** The Node contenders; Benthos runs as its own binary (bench/runBenthos.ts). */
export type NodeContender =
  | 'dify-batch-ordered'
  | 'dify-batch-unordered'
  | 'naive-chunks'
  | 'dify-run-batch'
  | 'p-map+dify-client'
  | 'readable-map'
  | 'bare-undici';

/** Contenders that run as their own program and hand their results to the checker over a stdout pipe. */
export type ExternalContender =
  | 'benthos-unordered'
  | 'benthos-ordered'
  | 'python-ordered'
  | 'python-unordered';

export type Contender = NodeContender | ExternalContender;

/** Contenders that promise input order: their output is checked for it. */
export const ORDERED_CONTENDERS: ReadonlySet<Contender> = new Set<Contender>([
  'dify-batch-ordered',
  'naive-chunks',
  'dify-run-batch',
  'p-map+dify-client',
  'readable-map',
  'benthos-ordered',
  'python-ordered',
]);

export type ScenarioName =
  | 'overhead'
  | 'http-ceiling'
  | 'littles-law'
  | 'head-of-line'
  | 'rate-limit'
  | 'concurrency-limit'
  | 'memory';

/** Where the records come from: generated in the worker, or an NDJSON file written beforehand. */
export type WorkloadSource =
  | { readonly kind: 'generated'; readonly count: number; readonly payloadBytes: number }
  | { readonly kind: 'file'; readonly path: string; readonly count: number; readonly payloadBytes: number };

/** How a contender reaches "Dify". */
export type WorkloadTransport =
  | { readonly kind: 'http'; readonly url: string; readonly apiKey: string }
  /** Zero-latency function call in the worker: measures the client's own overhead. */
  | { readonly kind: 'in-process' };

export interface ContenderSpec {
  readonly contender: NodeContender;
  readonly source: WorkloadSource;
  readonly transport: WorkloadTransport;
  readonly concurrency: number;
  /** Sink throughput cap (items/s); absent = as fast as the checker goes. */
  readonly sinkItemsPerSecond?: number;
  /** dify-batch only: client-side rate limit (the user knows the quota). */
  readonly rateLimitPerSecond?: number;
  /** dify-batch only: retry attempts (first call included). */
  readonly maxAttempts?: number;
  /** dify-batch only: AIMD concurrency that backs off on rate-limit signals. */
  readonly adaptiveConcurrency?: boolean;
  /**
   * Profile the run (set-up and process start excluded) with V8's sampling profiler and write the
   * `.cpuprofile` here: `--profile`'s extra, unmeasured runs.
   */
  readonly profile?: { readonly path: string; readonly intervalUs: number };
  /**
   * Records between reading and delivering at most (the reorder horizon): dify-batch's `window`,
   * Readable.map's concurrency + `highWaterMark`. Absent = the contender's own default.
   */
  readonly window?: number;
  /**
   * Records the contender processes first, untimed, in the same process through the same code with its
   * own client (a fresh connection pool), so the measured run finds V8's JIT and undici's lazily compiled
   * parser warm, as a long batch does; the emulator's counters are reset before the clock starts.
   * Absent or 0 = a cold process (set-up excluded, first calls included).
   */
  readonly warmup?: number;
}

/** What the output check found; a run whose check is not `valid` does not count. */
export interface CheckReport {
  readonly expected: number;
  readonly received: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly missing: number;
  readonly duplicates: number;
  readonly mismatches: number;
  readonly orderViolations: number;
  /** Up to five concrete problems, for the report. */
  readonly problems: readonly string[];
  readonly valid: boolean;
}

/** Measured by the worker around the run only (set-up excluded). */
export interface WorkerReport {
  readonly wallMs: number;
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  /** RSS when the run started. */
  readonly rssStartMb: number;
  /** RSS once 10% of the results were in (heap warmed up). */
  readonly rssWarmMb: number;
  /** Peak RSS of the process (getrusage maxrss). */
  readonly rssPeakMb: number;
  /**
   * Heap used (MB) right after a forced GC once 10 %, 50 % and 100 % of the results were in; only when the
   * worker runs with `--expose-gc` (the memory scenario).
   */
  readonly heapAfterGcMb?: readonly [number, number, number];
  readonly check: CheckReport;
  /** Free-form numbers a contender adds (dify-batch: retries, peakOutstanding, …). */
  readonly extra: Readonly<Record<string, number>>;
}

export type WorkerMessage =
  /** The warm-up is done: the parent resets the emulator's counters, then sends {@link MeasureCommand}. */
  | { readonly type: 'warmed' }
  | { readonly type: 'report'; readonly report: WorkerReport }
  | { readonly type: 'error'; readonly message: string };

/** Parent → worker after `warmed`: start the clock. */
export interface MeasureCommand {
  readonly type: 'measure';
}

/** Emulator child ↔ parent (IPC). */
export type EmulatorCommand =
  | { readonly id: number; readonly cmd: 'configure'; readonly patch: Partial<EmulatorOptions> }
  | { readonly id: number; readonly cmd: 'reset' }
  | { readonly id: number; readonly cmd: 'stats' }
  | { readonly id: number; readonly cmd: 'close' };

export type EmulatorReply =
  | { readonly type: 'ready'; readonly url: string }
  | { readonly type: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: string };

/** One row of bench/out/results.json. */
export interface ResultRow {
  readonly name: ScenarioName;
  readonly contender: Contender;
  readonly metric: string;
  readonly value: number;
  /** The figure the matching goal is stated in (see bench/goals.ts). */
  readonly ratio?: number;
  readonly concurrency?: number;
  /**
   * When the scenario ran each contender several times (interleaved): `value` is the median of `runs`
   * runs, `min`/`max` their extremes.
   */
  readonly spread?: { readonly min: number; readonly max: number; readonly runs: number };
  /** False when the output check failed: the number is shown but does not count. */
  readonly valid: boolean;
  readonly note?: string;
}
