import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { EmulatorOptions } from '../src/emulator/EmulatorOptions.js';
import type { BenchParams } from './BenchParams.js';
import { DIFY_BATCH_BENCH_ATTEMPTS } from './contenders/runDifyBatch.js';
import { type ContenderConfig, describeContender } from './describeContender.js';
import { EmulatorProcess } from './EmulatorProcess.js';
import type {
  Contender,
  ContenderSpec,
  NodeContender,
  ResultRow,
  ScenarioName,
  WorkerReport,
} from './protocol.js';
import { type EmulatorCounts, readEmulatorCounts } from './readEmulatorCounts.js';
import { runBenthos } from './runBenthos.js';
import { runPython } from './runPython.js';
import { runWorker } from './runWorker.js';
import { type ProfileSummary, summarizeProfile } from './summarizeProfile.js';
import { ensureNdjson } from './workload.js';

export interface BenchPaths {
  readonly root: string;
  /** bench/out */
  readonly out: string;
  readonly workerScript: string;
  readonly emulatorScript: string;
  /** The Benthos binary, when installed. */
  readonly benthos: string | undefined;
  /** The Python contender's interpreter (bench/python/.venv), when installed. */
  readonly python: string | undefined;
}

/** One contender run, as the scenarios turn it into rows. */
export interface Measured {
  readonly scenario: ScenarioName;
  readonly contender: Contender;
  readonly concurrency: number;
  readonly report: WorkerReport;
  /** Emulator counters for this run (requests received, 429s sent), when it went over HTTP. */
  readonly emulator: EmulatorCounts | undefined;
  /** Results per second that passed the check (goodput). */
  readonly perSecond: number;
  readonly valid: boolean;
}

/** What a scenario passes for a Node contender's run (the runner adds the contender and transport). */
export type NodeRunSpec = Omit<ContenderSpec, 'contender' | 'transport'> & {
  /** Run in the worker with the echo transport, no emulator. */
  readonly inProcess?: boolean;
  /**
   * With `warmup`: the emulator's settings during the warm-up (`during`, e.g. no latency, so that a
   * warm-up at 50 ms per call does not take minutes) and for the measured run (`after`).
   */
  readonly warmupEmulator?: {
    readonly during: Partial<EmulatorOptions>;
    readonly after: Partial<EmulatorOptions>;
  };
};

/** One run a scenario would make, as a planning runner lists it. */
export interface PlannedRun {
  /** `input` = writing the NDJSON input file (when it does not exist yet); `profile` = an extra, profiled run. */
  readonly kind: 'node' | 'benthos' | 'python' | 'profile' | 'input';
  readonly scenario: ScenarioName;
  readonly contender: Contender;
  readonly count: number;
  readonly concurrency: number;
  /** Untimed records the worker processes first (ContenderSpec.warmup), at the emulator's 0 ms. */
  readonly warmup?: number;
}

/** The emulator of a planning runner: accepts every command, serves nothing. */
function planningEmulator(): EmulatorProcess {
  const idle = async (): Promise<undefined> => undefined;
  return {
    url: 'http://planning.invalid',
    configure: idle,
    reset: idle,
    stats: idle,
    close: idle,
  } as unknown as EmulatorProcess;
}

/** Sampling interval of `--profile` runs: 5 samples per ms, enough for a 1-second run's top functions. */
const PROFILE_INTERVAL_US = 200;

export const EMULATOR_WORKFLOW_KEY = 'app-EmulatorWorkflowKey00001';
const WARM_UP_REQUESTS = 3000;

/** Shared machinery of the scenarios: runs contenders in child processes and collects rows. */
export class BenchRunner {
  readonly params: BenchParams;
  readonly paths: BenchPaths;
  readonly rows: ResultRow[] = [];
  readonly runs: Measured[] = [];
  readonly profiles: ProfileSummary[] = [];
  readonly skipped: string[] = [];
  /** Each run's configuration, as given (the equal-footing table). */
  readonly configurations: ContenderConfig[] = [];
  readonly #profile: boolean;
  /** Set on a planning runner: runs are listed here instead of run (see {@link BenchRunner.planning}). */
  readonly #plan: PlannedRun[] | undefined;
  #emulator: Promise<EmulatorProcess> | undefined;

  constructor(params: BenchParams, paths: BenchPaths, profile: boolean, plan?: PlannedRun[]) {
    this.params = params;
    this.paths = paths;
    this.#profile = profile;
    this.#plan = plan;
  }

  /**
   * A runner that runs nothing: the scenarios, played against it, list every run they would make (with
   * its size) in `planned`, for the duration estimate printed before a run starts.
   */
  static planning(params: BenchParams, paths: BenchPaths, profile: boolean): BenchRunner {
    return new BenchRunner(params, paths, profile, []);
  }

  /** True on a planning runner (nothing runs; scenarios keep quiet). */
  get isPlanning(): boolean {
    return this.#plan !== undefined;
  }

  /** The runs a planning runner collected (empty for a real one). */
  get planned(): readonly PlannedRun[] {
    return this.#plan ?? [];
  }

  /** The emulator process, started (and warmed up) on first use; overhead and memory run without it. */
  emulator(): Promise<EmulatorProcess> {
    this.#emulator ??= this.#plan === undefined ? this.#startEmulator() : Promise.resolve(planningEmulator());
    return this.#emulator;
  }

  /** On a planning runner: lists the run and answers as if every result had come back. */
  #planned(run: PlannedRun): Measured {
    this.#plan!.push(run);
    const check = {
      expected: run.count,
      received: run.count,
      succeeded: run.count,
      failed: 0,
      missing: 0,
      duplicates: 0,
      mismatches: 0,
      orderViolations: 0,
      problems: [],
      valid: true,
    };
    const report = {
      wallMs: 1,
      cpuUserUs: 0,
      cpuSystemUs: 0,
      rssStartMb: 0,
      rssWarmMb: 0,
      rssPeakMb: 0,
      check,
      extra: {},
    };
    return {
      scenario: run.scenario,
      contender: run.contender,
      concurrency: run.concurrency,
      report,
      emulator: undefined,
      perSecond: 1,
      valid: true,
    };
  }

  async #startEmulator(): Promise<EmulatorProcess> {
    const emulator = await EmulatorProcess.start(this.paths.emulatorScript);
    // A cold emulator (JIT not warmed up) would handicap whichever contender runs first.
    await runWorker(this.paths.workerScript, {
      contender: 'bare-undici',
      source: { kind: 'generated', count: WARM_UP_REQUESTS, payloadBytes: this.params.payloadBytes },
      transport: { kind: 'http', url: emulator.url, apiKey: EMULATOR_WORKFLOW_KEY },
      concurrency: 32,
    });
    return emulator;
  }

  /** Stops the emulator process, if it was started. */
  async close(): Promise<void> {
    const emulator = await this.#emulator?.catch(() => undefined);
    await emulator?.close();
  }

  get hasBenthos(): boolean {
    return this.paths.benthos !== undefined;
  }

  /** The NDJSON workload file with `count` records (written once, then reused); `scenario` needs it first. */
  input(count: number, scenario: ScenarioName): Promise<string> {
    const path = join(this.paths.out, 'data', `requests-${count}-${this.params.payloadBytes}.ndjson`);
    if (this.#plan !== undefined) {
      if (!existsSync(path) && !this.#plan.some((run) => run.kind === 'input' && run.count === count))
        this.#plan.push({
          kind: 'input',
          scenario,
          contender: 'bare-undici',
          count,
          concurrency: 1,
        });
      return Promise.resolve(path);
    }
    return ensureNdjson(path, count, this.params.payloadBytes);
  }

  /** Runs a Node contender in its own process against the emulator (or in-process when asked). */
  async node(
    scenario: ScenarioName,
    contender: NodeContender,
    spec: NodeRunSpec,
    execArgv: readonly string[] = [],
  ): Promise<Measured> {
    this.#configured(scenario, contender, { ...spec, count: spec.source.count });
    if (this.#plan !== undefined)
      return this.#planned({
        kind: 'node',
        scenario,
        contender,
        count: spec.source.count,
        concurrency: spec.concurrency,
        ...(spec.warmup === undefined ? {} : { warmup: spec.warmup }),
      });
    const { emulator, report } = await this.#runWorker(contender, spec, {}, execArgv);
    const counts = emulator === undefined ? undefined : readEmulatorCounts(await emulator.stats());
    return this.#record(scenario, contender, spec.concurrency, report, counts);
  }

  /**
   * One worker run against a reset emulator (or in-process). With `warmup`, the emulator runs the
   * warm-up under `warmupEmulator.during` and is switched to `.after` and reset before the clock starts.
   */
  async #runWorker(
    contender: NodeContender,
    spec: NodeRunSpec,
    extra: Pick<ContenderSpec, 'profile'>,
    execArgv: readonly string[] = [],
  ): Promise<{ emulator: EmulatorProcess | undefined; report: WorkerReport }> {
    const { inProcess, warmupEmulator, ...rest } = spec;
    const emulator = inProcess === true ? undefined : await this.emulator();
    const full: ContenderSpec = {
      ...rest,
      ...extra,
      contender,
      transport:
        emulator === undefined
          ? { kind: 'in-process' }
          : { kind: 'http', url: emulator.url, apiKey: EMULATOR_WORKFLOW_KEY },
    };
    const switched = warmupEmulator !== undefined && (spec.warmup ?? 0) > 0 ? warmupEmulator : undefined;
    if (switched !== undefined) await emulator?.configure(switched.during);
    await emulator?.reset();
    const onWarmed = async (): Promise<void> => {
      if (switched !== undefined) await emulator?.configure(switched.after);
      await emulator?.reset();
    };
    const report = await runWorker(this.paths.workerScript, full, { execArgv, onWarmed });
    return { emulator, report };
  }

  /**
   * Under `--profile`: one extra run of a dify-batch contender under V8's sampling profiler (the run
   * alone, set-up excluded), summarised into `profiles`. It records no row: a profiled run is slower, so
   * no published number comes from one.
   */
  async profileRun(scenario: ScenarioName, contender: NodeContender, spec: NodeRunSpec): Promise<void> {
    if (!this.#profile) return;
    if (this.#plan !== undefined) {
      this.#planned({
        kind: 'profile',
        scenario,
        contender,
        count: spec.source.count,
        concurrency: spec.concurrency,
        ...(spec.warmup === undefined ? {} : { warmup: spec.warmup }),
      });
      return;
    }
    const name = `${scenario}-${contender}-c${spec.concurrency}.cpuprofile`;
    const dir = join(this.paths.out, 'profiles');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, name);
    const { report } = await this.#runWorker(contender, spec, {
      profile: { path, intervalUs: PROFILE_INTERVAL_US },
    });
    if (!existsSync(path)) throw new Error(`the profiled worker wrote no ${path}`);
    const summary = summarizeProfile(path, `${scenario} / ${contender} / c=${spec.concurrency}`);
    // A path relative to the repository, so the committed summary means the same on every machine.
    this.profiles.push({ ...summary, path: relative(this.paths.root, path) });
    process.stdout.write(
      `  ${scenario.padEnd(13)} ${contender.padEnd(21)} c=${String(spec.concurrency).padEnd(4)} profiled ` +
        `(${(report.wallMs / 1000).toFixed(2)} s, not measured) → ${relative(this.paths.root, path)}\n`,
    );
  }

  /**
   * Runs every entry of `runs` `repeats` times, interleaved (A B C A B C …), so a slow spell of a shared
   * machine hits every contender alike. Returns each entry's runs in order; a skipped run (undefined,
   * e.g. Benthos not installed) is left out.
   */
  async interleaved<T>(repeats: number, runs: readonly (() => Promise<T | undefined>)[]): Promise<T[][]> {
    const out: T[][] = runs.map(() => []);
    for (let round = 0; round < repeats; round++) {
      for (const [i, run] of runs.entries()) {
        const result = await run();
        if (result !== undefined) out[i]!.push(result);
      }
    }
    return out;
  }

  /** Runs Benthos variant A (unordered) or B (ordered batch barrier); undefined when not installed. */
  benthos(
    scenario: ScenarioName,
    ordered: boolean,
    count: number,
    concurrency: number,
    rateLimitPerSecond?: number,
  ): Promise<Measured | undefined> {
    const binary = this.paths.benthos;
    return this.#external({
      kind: 'benthos',
      scenario,
      contender: ordered ? 'benthos-ordered' : 'benthos-unordered',
      knobs: { concurrency, count, rateLimitPerSecond },
      missing: binary === undefined ? 'Benthos not installed (npm run bench:benthos)' : undefined,
      run: (input, url) =>
        runBenthos({
          rateLimitPerSecond,
          binary: binary!,
          config: join(this.paths.root, 'bench', 'benthos', ordered ? 'ordered.yaml' : 'unordered.yaml'),
          ordered,
          input,
          count,
          payloadBytes: this.params.payloadBytes,
          concurrency,
          url,
          apiKey: EMULATOR_WORKFLOW_KEY,
          outDir: join(this.paths.out, 'benthos-run'),
        }),
    });
  }

  /**
   * Runs the Python anchor (asyncio + httpx + Semaphore + tenacity), ordered (gather) or unordered
   * (as_completed); undefined when its venv is not installed.
   */
  python(
    scenario: ScenarioName,
    ordered: boolean,
    count: number,
    concurrency: number,
    maxAttempts: number = DIFY_BATCH_BENCH_ATTEMPTS,
  ): Promise<Measured | undefined> {
    const python = this.paths.python;
    return this.#external({
      kind: 'python',
      scenario,
      contender: ordered ? 'python-ordered' : 'python-unordered',
      knobs: { concurrency, count, maxAttempts },
      missing:
        python === undefined ? 'Python venv not installed (bash scripts/install-bench-python.sh)' : undefined,
      run: (input, url) =>
        runPython({
          python: python!,
          script: join(this.paths.root, 'bench', 'python', 'contender.py'),
          ordered,
          input,
          count,
          payloadBytes: this.params.payloadBytes,
          concurrency,
          attempts: maxAttempts,
          url,
          apiKey: EMULATOR_WORKFLOW_KEY,
        }),
    });
  }

  /**
   * The steps every external contender shares: skipped when `missing` says why, its configuration noted,
   * its NDJSON input written, planned on a planning runner, otherwise run against a reset emulator.
   */
  async #external(external: {
    readonly kind: 'benthos' | 'python';
    readonly scenario: ScenarioName;
    readonly contender: Contender;
    readonly knobs: Parameters<typeof describeContender>[2];
    readonly missing: string | undefined;
    readonly run: (input: string, url: string) => Promise<WorkerReport>;
  }): Promise<Measured | undefined> {
    const { kind, scenario, contender, knobs } = external;
    if (external.missing !== undefined) {
      this.#skip(`${scenario}/${contender}: ${external.missing}`);
      return undefined;
    }
    this.#configured(scenario, contender, knobs);
    const input = await this.input(knobs.count, scenario);
    if (this.#plan !== undefined)
      return this.#planned({ kind, scenario, contender, count: knobs.count, concurrency: knobs.concurrency });
    const emulator = await this.emulator();
    await emulator.reset();
    const report = await external.run(input, emulator.url);
    return this.#record(
      scenario,
      contender,
      knobs.concurrency,
      report,
      readEmulatorCounts(await emulator.stats()),
    );
  }

  /** Notes a skipped contender once (a repeated scenario asks again every round). */
  #skip(text: string): void {
    if (!this.skipped.includes(text)) this.skipped.push(text);
  }

  #configured(
    scenario: ScenarioName,
    contender: Contender,
    knobs: Parameters<typeof describeContender>[2],
  ): void {
    const config = describeContender(scenario, contender, knobs);
    const same = (other: ContenderConfig): boolean => JSON.stringify(other) === JSON.stringify(config);
    if (!this.configurations.some(same)) this.configurations.push(config);
  }

  #record(
    scenario: ScenarioName,
    contender: Contender,
    concurrency: number,
    report: WorkerReport,
    emulator: EmulatorCounts | undefined,
  ): Measured {
    const perSecond = report.check.succeeded / (report.wallMs / 1000);
    const measured: Measured = {
      scenario,
      contender,
      concurrency,
      report,
      emulator,
      perSecond,
      valid: report.check.valid,
    };
    this.runs.push(measured);
    const check = report.check.valid ? 'ok' : `INVALID: ${report.check.problems.join('; ')}`;
    const rejected =
      emulator === undefined
        ? ''
        : `  peak ${emulator.peakActive} in flight, 429s ${emulator.rejected}/${emulator.requests}`;
    process.stdout.write(
      `  ${scenario.padEnd(13)} ${contender.padEnd(21)} c=${String(concurrency).padEnd(4)} ` +
        `${formatNumber(perSecond).padStart(9)}/s  ${(report.wallMs / 1000).toFixed(2)} s  ` +
        `rss ${report.rssPeakMb.toFixed(0)} MB${rejected}  check ${check}\n`,
    );
    return measured;
  }

  add(row: ResultRow): void {
    this.rows.push(row);
  }
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 1) return value.toFixed(2);
  return value.toFixed(3);
}
