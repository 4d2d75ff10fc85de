import type { BenchParams } from './BenchParams.js';
import type { PlannedRun } from './BenchRunner.js';
import type { ResultRow, ScenarioName } from './protocol.js';

/** Process start-up per run (fork + imports, or the binary's start), seconds; measured roughly on 2 cores. */
const STARTUP_SECONDS: Readonly<Record<PlannedRun['kind'], number>> = {
  node: 0.4,
  profile: 0.6,
  benthos: 0.5,
  python: 1.2,
  input: 0,
};
/** Writing the NDJSON input, lines per second. */
const INPUT_LINES_PER_SECOND = 400_000;
/** The emulator's warm-up before the first HTTP scenario (3,000 calls). */
const EMULATOR_WARM_UP_SECONDS = 2;
/** Rate assumed for a run the reference run has no row for (and nothing to scale from). */
const UNKNOWN_RATE = 1000;

export interface RunEstimate {
  readonly run: PlannedRun;
  readonly seconds: number;
  /** How the rate was found: a reference row (scaled), or a guess. */
  readonly basis: string;
}

export interface DurationEstimate {
  readonly totalSeconds: number;
  readonly byScenario: readonly { readonly scenario: ScenarioName; readonly seconds: number }[];
  /** Every run, longest first. */
  readonly runs: readonly RunEstimate[];
}

/** The reference run: its sizes and rows (bench/out/results.json of an earlier run, usually a quick one). */
export interface ReferenceRun {
  readonly params: BenchParams;
  readonly scenarios: readonly ResultRow[];
}

const RATE_METRICS = new Set(['items/s', 'req/s', 'goodput/s']);

/**
 * How long `plan` (the runs the scenarios would make at `params`) takes, from the rates the reference
 * run measured, scaled to the new sizes: latency-bound scenarios by the latency ratio, the rate limit by
 * R, Little's law down (never up) to a smaller c. Errs long: where several rows match, the slowest counts.
 */
export function estimateDuration(
  plan: readonly PlannedRun[],
  params: BenchParams,
  reference: ReferenceRun | undefined,
): DurationEstimate {
  const runs = plan.map((run) => estimateRun(run, params, reference));
  const byScenario = new Map<ScenarioName, number>();
  for (const { run, seconds } of runs)
    byScenario.set(run.scenario, (byScenario.get(run.scenario) ?? 0) + seconds);
  const usesEmulator = plan.some((run) => !['overhead', 'memory'].includes(run.scenario));
  const warmUp = usesEmulator ? EMULATOR_WARM_UP_SECONDS : 0;
  return {
    totalSeconds: runs.reduce((sum, { seconds }) => sum + seconds, warmUp),
    byScenario: [...byScenario].map(([scenario, seconds]) => ({ scenario, seconds })),
    runs: [...runs].sort((a, b) => b.seconds - a.seconds),
  };
}

function estimateRun(run: PlannedRun, params: BenchParams, reference: ReferenceRun | undefined): RunEstimate {
  if (run.kind === 'input')
    return { run, seconds: run.count / INPUT_LINES_PER_SECOND, basis: `${INPUT_LINES_PER_SECOND} lines/s` };
  if (run.scenario === 'littles-law' && run.concurrency === 1) {
    // The latency floor: one call at a time, L plus a round trip each.
    const seconds = (run.count * (params.littlesLaw.latencyMs + 2)) / 1000;
    return { run, seconds: STARTUP_SECONDS[run.kind] + seconds, basis: 'c = 1: count × (L + 2 ms)' };
  }
  const found = referenceRate(run, params, reference);
  const rate = found?.rate ?? UNKNOWN_RATE;
  const warmup = warmUpSeconds(run, reference);
  return {
    run,
    seconds: STARTUP_SECONDS[run.kind] + run.count / rate + warmup.seconds,
    basis: `${found?.basis ?? `guess: ${UNKNOWN_RATE}/s`}${warmup.basis}`,
  };
}

/** A run's untimed warm-up, at the 0 ms rate the reference measured for the contender (http-ceiling). */
function warmUpSeconds(
  run: PlannedRun,
  reference: ReferenceRun | undefined,
): { seconds: number; basis: string } {
  if (run.warmup === undefined || run.warmup === 0) return { seconds: 0, basis: '' };
  const row = reference?.scenarios.find(
    (r) => r.name === 'http-ceiling' && r.contender === run.contender && r.metric === 'req/s' && r.value > 0,
  );
  const rate = row?.value ?? UNKNOWN_RATE;
  return {
    seconds: run.warmup / rate,
    basis: ` + warm-up ${run.warmup} at ${row === undefined ? `a guessed ${UNKNOWN_RATE}` : Math.round(rate)}/s`,
  };
}

/** The reference rate of the same scenario and contender at the nearest c, scaled to `params`. */
function referenceRate(
  run: PlannedRun,
  params: BenchParams,
  reference: ReferenceRun | undefined,
): { rate: number; basis: string } | undefined {
  if (reference === undefined) return undefined;
  const rows = reference.scenarios.filter(
    (row) =>
      row.name === run.scenario &&
      row.contender === run.contender &&
      RATE_METRICS.has(row.metric) &&
      row.concurrency !== undefined &&
      row.value > 0,
  );
  if (rows.length === 0) return undefined;
  const nearest = rows.reduce((a, b) =>
    Math.abs(Math.log(b.concurrency! / run.concurrency)) <
    Math.abs(Math.log(a.concurrency! / run.concurrency))
      ? b
      : a,
  );
  const atNearest = rows.filter((row) => row.concurrency === nearest.concurrency);
  const slowest = Math.min(...atNearest.map((row) => row.value));
  const cRef = nearest.concurrency!;
  const ref = reference.params;
  let scale = 1;
  let how = '';
  switch (run.scenario) {
    case 'head-of-line':
      scale = ref.headOfLine.p50Ms / params.headOfLine.p50Ms;
      break;
    case 'concurrency-limit':
      scale = ref.concurrencyLimit.p50Ms / params.concurrencyLimit.p50Ms;
      break;
    case 'rate-limit':
      scale = params.rateLimit.rps / ref.rateLimit.rps;
      break;
    case 'littles-law':
      // Latency-bound below the reference c; above it, assume no gain (a CPU-bound contender stays put).
      scale =
        (run.concurrency < cRef ? run.concurrency / cRef : 1) *
        (ref.littlesLaw.latencyMs / params.littlesLaw.latencyMs);
      how = cRef === run.concurrency ? '' : ` at c=${cRef}`;
      break;
    case 'memory':
      // Sink-bound: the reference rate scaled by the sink caps, never above the new cap.
      scale = params.memory.sinkItemsPerSecond / ref.memory.sinkItemsPerSecond;
      return {
        rate: Math.min(slowest * scale, params.memory.sinkItemsPerSecond),
        basis: `reference ${Math.round(slowest)}/s × ${scale.toFixed(2)} (sink caps), ≤ ${params.memory.sinkItemsPerSecond}/s`,
      };
    default:
      break;
  }
  const rate = slowest * scale;
  return {
    rate,
    basis: `reference ${Math.round(slowest)}/s${how}${scale === 1 ? '' : ` × ${scale.toFixed(2)}`}`,
  };
}

const minutes = (seconds: number): string => `${(seconds / 60).toFixed(1)} min`;

/** The lines printed before a run: the total, each scenario, and the longest runs. */
export function formatEstimate(estimate: DurationEstimate, budgetSeconds: number, source: string): string {
  const lines = [
    `estimated duration: ${minutes(estimate.totalSeconds)} (from the sizes in bench/BenchParams.ts and the rates of ${source})`,
    `  ${estimate.byScenario.map(({ scenario, seconds }) => `${scenario} ${minutes(seconds)}`).join(', ')}`,
  ];
  if (estimate.totalSeconds > budgetSeconds) {
    lines.push(`  over the ~${minutes(budgetSeconds)} budget; the longest runs:`);
    for (const { run, seconds, basis } of estimate.runs.slice(0, 5)) {
      lines.push(
        `    ${run.scenario} ${run.contender}${run.kind === 'profile' ? ' (profile)' : ''} c=${run.concurrency} ${run.count.toLocaleString('en-US')} items: ${seconds.toFixed(0)} s (${basis})`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
