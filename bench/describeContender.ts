import { RETRY_BACKOFF_DEFAULTS } from '../src/operators/retryBackoff.js';
import { DIFY_BATCH_BENCH_ATTEMPTS, DIFY_BATCH_BENCH_WINDOW_PER_C } from './contenders/runDifyBatch.js';
import { RUN_BATCH_GROUP_SIZE } from './contenders/runDifyRunBatch.js';
import type { Contender, ScenarioName } from './protocol.js';

/** Retries Benthos' `http` processor makes (bench/benthos/*.yaml). */
export const BENTHOS_RETRIES = 5;

/** How a contender was configured in one run: the equal-footing table of RESULTS.md. */
export interface ContenderConfig {
  readonly scenario: ScenarioName;
  readonly contender: Contender;
  /** Calls in flight at most (and how it is chosen). */
  readonly concurrency: string;
  /** Records between reading and delivering at most (the reorder horizon). */
  readonly readAhead: string;
  readonly retry: string;
  readonly rateLimit: string;
  /** Where results go on their way to the checker. */
  readonly output: string;
  readonly items: number;
  /** Records processed first, untimed, in the same process (ContenderSpec.warmup). */
  readonly warmup?: number;
}

/** The knobs a run was given (what the scenario passed, nothing inferred). */
export interface RunKnobs {
  readonly concurrency: number;
  readonly count: number;
  readonly window?: number | undefined;
  readonly maxAttempts?: number | undefined;
  readonly rateLimitPerSecond?: number | undefined;
  readonly adaptiveConcurrency?: boolean | undefined;
  readonly inProcess?: boolean | undefined;
  readonly warmup?: number | undefined;
}

const IN_PROCESS_CHECKER = 'in-process checker (same process)';
const PIPE_CHECKER = 'stdout pipe → checker (parsed as it arrives)';
/** dify-batch's default backoff, which the Python anchor is given too (bench/runPython.ts). */
const BACKOFF = `full-jitter backoff ${RETRY_BACKOFF_DEFAULTS.baseDelayMs} ms × 2^(n−1), cap ${RETRY_BACKOFF_DEFAULTS.maxDelayMs / 1000} s`;

/** Describes a run from the knobs it was given; RESULTS.md prints this, so it is generated, not hand-written. */
export function describeContender(
  scenario: ScenarioName,
  contender: Contender,
  knobs: RunKnobs,
): ContenderConfig {
  const c = knobs.concurrency;
  const quota =
    knobs.rateLimitPerSecond === undefined
      ? 'none'
      : `${knobs.rateLimitPerSecond}/s token bucket (burst 1, the default)`;
  const base = {
    scenario,
    contender,
    items: knobs.count,
    ...(knobs.warmup === undefined || knobs.warmup === 0 ? {} : { warmup: knobs.warmup }),
    concurrency: `${c} fixed`,
    rateLimit: 'none',
  };
  switch (contender) {
    case 'dify-batch-ordered':
    case 'dify-batch-unordered':
      return {
        ...base,
        concurrency: knobs.adaptiveConcurrency === true ? `≤ ${c} adaptive (AIMD)` : `${c} fixed`,
        readAhead: `window ${knobs.window ?? DIFY_BATCH_BENCH_WINDOW_PER_C * c}${knobs.window === undefined ? ` (${DIFY_BATCH_BENCH_WINDOW_PER_C} × c)` : ''}`,
        retry:
          knobs.inProcess === true
            ? 'n/a (echo transport)'
            : `${knobs.maxAttempts ?? DIFY_BATCH_BENCH_ATTEMPTS} attempts, ${BACKOFF}; limits do not use attempts`,
        rateLimit: quota,
        output: `runBatch sink → ${IN_PROCESS_CHECKER}`,
      };
    case 'readable-map':
      return {
        ...base,
        readAhead:
          knobs.window === undefined
            ? `${c} + highWaterMark (Node default)`
            : `${c} + highWaterMark ${knobs.window - c} = ${knobs.window}`,
        retry: 'none',
        output: `for await → ${IN_PROCESS_CHECKER}`,
      };
    case 'p-map+dify-client':
      return {
        ...base,
        readAhead: 'whole input (results array at the end)',
        retry: 'none (the SDK has none)',
        output: `after the run → ${IN_PROCESS_CHECKER}`,
      };
    case 'naive-chunks':
      return {
        ...base,
        readAhead: `chunk of ${c} (barrier)`,
        retry: 'none',
        output: `per chunk → ${IN_PROCESS_CHECKER}`,
      };
    case 'dify-run-batch':
      return {
        ...base,
        concurrency: `${RUN_BATCH_GROUP_SIZE} (Run Batch policy)`,
        readAhead: `group of ${RUN_BATCH_GROUP_SIZE} (barrier)`,
        retry: 'none',
        output: `per group → ${IN_PROCESS_CHECKER}`,
      };
    case 'bare-undici':
      return {
        ...base,
        readAhead: `${c} (unordered loops)`,
        retry: 'none',
        output: `per call → ${IN_PROCESS_CHECKER}`,
      };
    case 'benthos-unordered':
    case 'benthos-ordered':
      return {
        ...base,
        readAhead: contender === 'benthos-ordered' ? `batch of ${c} (barrier)` : `${c} pipeline threads`,
        retry: `http processor: ${BENTHOS_RETRIES} retries, backoff 500 ms doubling to 30 s on 429/503`,
        rateLimit:
          knobs.rateLimitPerSecond === undefined
            ? 'none'
            : `rate_limit resource ${knobs.rateLimitPerSecond}/s (1 per ${Math.round(1e6 / knobs.rateLimitPerSecond)} µs, burst 1)`,
        output: PIPE_CHECKER,
      };
    case 'python-ordered':
    case 'python-unordered':
      return {
        ...base,
        concurrency: `${c} (asyncio.Semaphore)`,
        readAhead:
          contender === 'python-ordered' ? 'whole input (asyncio.gather)' : 'whole input (as_completed)',
        retry: `tenacity: ${knobs.maxAttempts ?? DIFY_BATCH_BENCH_ATTEMPTS} attempts, ${BACKOFF} on 429/5xx/limit/transport`,
        output: PIPE_CHECKER,
      };
  }
}
