/**
 * Benchmark entry (`npm run bench`, `npm run bench:quick`). Runs the scenarios of issue 4 against the Dify
 * emulator in a separate process, each contender in its own process, then writes bench/out/results.json,
 * bench/RESULTS.md and bench/throughput.svg and prints a table. Before it starts it prints how long the run
 * should take (the scenarios planned against the rates of the previous results.json).
 *
 * Flags: --quick (smaller, minutes), --only overhead,memory (subset, written to bench/out/results.only.json;
 * results.json and RESULTS.md are left alone),
 * --profile (one extra, unmeasured run under V8's profiler of each dify-batch contender of overhead, http-ceiling and
 * littles-law at c=256, summarised into bench/out/profiles/summary.md), --no-benthos, --no-python,
 * --strict (exit 1 when a goal is missed, not only when an output check fails), --render (no run: rebuild
 * RESULTS.md and the plot from bench/out/results.json), --estimate (no run: print the duration estimate).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchParams, FULL_PARAMS, QUICK_PARAMS } from './BenchParams.js';
import { type BenchResults, machineInfo } from './BenchResults.js';
import { type BenchPaths, BenchRunner, formatNumber } from './BenchRunner.js';
import { estimateDuration, formatEstimate } from './estimateDuration.js';
import { evaluateGoals } from './evaluateGoals.js';
import { printProfiles, printSummary } from './printSummary.js';
import type { ScenarioName } from './protocol.js';
import { renderResultsMarkdown } from './renderResultsMarkdown.js';
import { renderThroughputSvg } from './renderThroughputSvg.js';
import { runConcurrencyLimit } from './scenarios/runConcurrencyLimit.js';
import { runHeadOfLine } from './scenarios/runHeadOfLine.js';
import { runHttpCeiling } from './scenarios/runHttpCeiling.js';
import { runLittlesLaw } from './scenarios/runLittlesLaw.js';
import { runMemory } from './scenarios/runMemory.js';
import { runOverhead } from './scenarios/runOverhead.js';
import { runRateLimit } from './scenarios/runRateLimit.js';
import { withSideRuns } from './sideRuns.js';

const SCENARIOS: readonly [ScenarioName, (runner: BenchRunner) => Promise<void>][] = [
  ['overhead', runOverhead],
  ['http-ceiling', runHttpCeiling],
  ['littles-law', runLittlesLaw],
  ['head-of-line', runHeadOfLine],
  ['rate-limit', runRateLimit],
  ['concurrency-limit', runConcurrencyLimit],
  ['memory', runMemory],
];

function benthosVersion(binary: string): string | undefined {
  try {
    const text = execFileSync(binary, ['--version'], { encoding: 'utf8' });
    return /Version: (\S+)/.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'no-benthos': { type: 'boolean', default: false },
      'no-python': { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      render: { type: 'boolean', default: false },
      estimate: { type: 'boolean', default: false },
    },
  });
  const params: BenchParams = values.quick ? QUICK_PARAMS : FULL_PARAMS;
  const dist = dirname(fileURLToPath(import.meta.url));
  const root = resolve(dist, '..', '..', '..');
  const out = join(root, 'bench', 'out');
  mkdirSync(out, { recursive: true });
  if (values.render) {
    const saved = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
    writeReport(root, saved);
    process.stdout.write('rebuilt bench/RESULTS.md and bench/throughput.svg from bench/out/results.json\n');
    return 0;
  }
  const benthosBinary = join(root, '.tools', 'bin', 'benthos');
  const benthos = !values['no-benthos'] && existsSync(benthosBinary) ? benthosBinary : undefined;
  const version = benthos === undefined ? undefined : (benthosVersion(benthos) ?? 'unknown version');
  // Installed by scripts/install-bench-python.sh; without it the Python contenders are listed as skipped.
  const pythonBinary = join(root, 'bench', 'python', '.venv', 'bin', 'python');
  const python = !values['no-python'] && existsSync(pythonBinary) ? pythonBinary : undefined;
  const only = values.only?.split(',').map((name) => name.trim());
  const unknown = only?.filter((name) => !SCENARIOS.some(([known]) => known === name)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map(([n]) => n).join(', ')}\n`,
    );
    return 2;
  }

  const loadStart = loadavg()[0]!;
  process.stdout.write(
    `dify-batch bench (${params.mode}), Node ${process.version}, Benthos ${version ?? 'not installed (npm run bench:benthos)'}, ` +
      `Python contender ${python === undefined ? 'not installed (npm run bench:python)' : 'installed'}\n`,
  );
  const paths = {
    root,
    out,
    workerScript: join(dist, 'contender-worker.js'),
    emulatorScript: join(dist, 'emulator-server.js'),
    benthos,
    python,
  };
  const selected = SCENARIOS.filter(([name]) => only === undefined || only.includes(name));
  process.stdout.write(await estimate(params, paths, values.profile, selected));
  if (values.estimate) return 0;
  const runner = new BenchRunner(params, paths, values.profile);
  try {
    for (const [name, run] of selected) {
      process.stdout.write(`\n${name}\n`);
      await run(runner);
    }
  } finally {
    await runner.close();
  }

  const results: BenchResults = {
    machine: machineInfo(loadStart),
    node: process.version,
    date: new Date().toISOString(),
    mode: params.mode,
    params,
    benthos: version,
    scenarios: runner.rows,
    configurations: runner.configurations,
    goals: evaluateGoals(runner.rows),
    skipped: runner.skipped,
    profiles: runner.profiles,
  };
  // A subset never replaces the published results.json (RESULTS.md and ANALYSIS.md quote it).
  const resultsFile = only === undefined ? 'results.json' : 'results.only.json';
  writeFileSync(join(out, resultsFile), `${JSON.stringify(results, null, 2)}\n`);
  if (only === undefined) {
    const command = values.quick ? 'npm run bench:quick' : 'npm run bench';
    writeResultsMarkdown(root, renderResultsMarkdown(results, command));
    writeFileSync(
      join(root, 'bench', 'throughput.svg'),
      renderThroughputSvg(runner.rows, params.littlesLaw.latencyMs),
    );
  }
  if (results.profiles.length > 0 && only === undefined) writeProfileSummary(out, results);
  printSummary(results, (text) => process.stdout.write(text));
  printProfiles(results, (text) => process.stdout.write(text));
  process.stdout.write(
    `\nwrote bench/out/${resultsFile}${only === undefined ? ', bench/RESULTS.md, bench/throughput.svg' : ' (--only: results.json and RESULTS.md left alone)'}\n`,
  );
  const ourChecksFailed = runner.rows.some((row) => row.contender.startsWith('dify-batch') && !row.valid);
  const goalsMissed = results.goals.some((goal) => goal.pass === false);
  if (ourChecksFailed) process.stderr.write('dify-batch output check FAILED (see the table)\n');
  return ourChecksFailed || (values.strict && goalsMissed) ? 1 : 0;
}

/** Writes bench/RESULTS.md: the main run's sections, then each side run's, rendered from its JSON (sideRuns.ts). */
function writeResultsMarkdown(root: string, rendered: string): void {
  const path = join(root, 'bench', 'RESULTS.md');
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  writeFileSync(path, withSideRuns(rendered, root, previous));
}

/**
 * A full run should fit this on 2 cores (the integrator's quiet-machine slot); the estimate warns beyond it.
 * 36 min since Little's law, head-of-line and the rate-limit pair run three times each and http-ceiling and
 * Little's law warm up (the published run of 2026-11-30 08:07 took 35 min with --profile).
 */
const FULL_RUN_BUDGET_SECONDS = 36 * 60;
const QUICK_RUN_BUDGET_SECONDS = 6 * 60;

/**
 * Plays the selected scenarios against a planning runner and estimates their duration from the rates of
 * the committed bench/out/results.json (read before this run overwrites it).
 */
async function estimate(
  params: BenchParams,
  paths: BenchPaths,
  profile: boolean,
  selected: typeof SCENARIOS,
): Promise<string> {
  const planner = BenchRunner.planning(params, paths, profile);
  for (const [, run] of selected) await run(planner);
  const saved = join(paths.out, 'results.json');
  const reference = existsSync(saved) ? (JSON.parse(readFileSync(saved, 'utf8')) as BenchResults) : undefined;
  const source =
    reference === undefined ? 'no earlier run (guesses)' : `the ${reference.mode} run of ${reference.date}`;
  const budget = params.mode === 'full' ? FULL_RUN_BUDGET_SECONDS : QUICK_RUN_BUDGET_SECONDS;
  return formatEstimate(estimateDuration(planner.planned, params, reference), budget, source);
}

/**
 * bench/out/profiles/summary.md (committed with the run's results.json): the top self-time functions of
 * each `--profile` run, so ANALYSIS.md can cite the profiles of the published run.
 */
function writeProfileSummary(out: string, results: BenchResults): void {
  const dir = join(out, 'profiles');
  mkdirSync(dir, { recursive: true });
  const lines = [
    '# CPU profiles of the published run',
    '',
    `From \`npm run bench${results.mode === 'quick' ? ':quick' : ''} -- --profile\` on ${results.date} (${results.mode} run): one extra,`,
    "unmeasured run per dify-batch contender of overhead, http-ceiling and littles-law (c = 256), under V8's",
    'sampling profiler (200 µs) from the first record to the last result: process start-up and set-up excluded.',
    'Self time, idle excluded; the .cpuprofile files themselves are not committed.',
    '',
  ];
  for (const profile of results.profiles) {
    lines.push(
      `## ${profile.label}`,
      '',
      `${formatNumber(profile.busyMs)} ms busy (\`${profile.path}\`)`,
      '',
      '| share | self ms | function | where |',
      '|---:|---:|---|---|',
      ...profile.top.map(
        (entry) =>
          `| ${(entry.share * 100).toFixed(1)}% | ${formatNumber(entry.selfMs)} | ${entry.fn} | ${entry.where} |`,
      ),
      '',
    );
  }
  writeFileSync(join(dir, 'summary.md'), lines.join('\n'));
}

function writeReport(root: string, results: BenchResults): void {
  const command = results.mode === 'quick' ? 'npm run bench:quick' : 'npm run bench';
  writeResultsMarkdown(root, renderResultsMarkdown(results, command));
  const svg = renderThroughputSvg(results.scenarios, results.params.littlesLaw.latencyMs);
  writeFileSync(join(root, 'bench', 'throughput.svg'), svg);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
