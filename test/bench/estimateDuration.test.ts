import { describe, expect, it } from 'vitest';
import { FULL_PARAMS, QUICK_PARAMS } from '../../bench/BenchParams.js';
import { BenchRunner } from '../../bench/BenchRunner.js';
import { estimateDuration, formatEstimate } from '../../bench/estimateDuration.js';
import type { ResultRow } from '../../bench/protocol.js';
import { runHttpCeiling } from '../../bench/scenarios/runHttpCeiling.js';
import { runLittlesLaw } from '../../bench/scenarios/runLittlesLaw.js';

const paths = (benthos?: string) => ({
  root: '/nowhere',
  out: '/nowhere/out',
  workerScript: '',
  emulatorScript: '',
  benthos,
  python: undefined,
});

describe('planning runner', () => {
  it('lists every run a scenario would make, repeats and profile runs included, and runs nothing', async () => {
    const planner = BenchRunner.planning(FULL_PARAMS, paths('/bin/benthos'), true);
    await runHttpCeiling(planner);
    const measured = planner.planned.filter((run) => run.kind !== 'profile' && run.kind !== 'input');
    // 6 Node contenders + Benthos, each FULL_PARAMS.repeats times, interleaved.
    expect(measured).toHaveLength(7 * FULL_PARAMS.repeats);
    expect(measured.slice(0, 7).map((run) => run.contender)).toEqual(
      measured.slice(7, 14).map((run) => run.contender),
    );
    expect(planner.planned.filter((run) => run.kind === 'profile').map((run) => run.contender)).toEqual([
      'dify-batch-unordered',
      'dify-batch-ordered',
    ]);
    expect(planner.rows.every((row) => row.name === 'http-ceiling')).toBe(true);
    expect(planner.skipped).toEqual([
      'http-ceiling/python-unordered: Python venv not installed (bash scripts/install-bench-python.sh)',
    ]);
  });

  it("Little's law profiles dify-batch at c = 256 only, and runs every baseline `repeats` times in the full run", async () => {
    const planner = BenchRunner.planning(FULL_PARAMS, paths(), true);
    await runLittlesLaw(planner);
    const profiled = planner.planned.filter((run) => run.kind === 'profile');
    expect(profiled.map((run) => run.concurrency)).toEqual([256, 256]);
    const at512 = planner.planned.filter((run) => run.kind === 'node' && run.concurrency === 512);
    const contenders = [
      'bare-undici',
      'dify-batch-ordered',
      'dify-batch-unordered',
      'naive-chunks',
      'p-map+dify-client',
      'readable-map',
    ];
    expect(FULL_PARAMS.littlesLaw.repeats).toBeGreaterThan(1);
    // Interleaved: every contender once per round, the rounds one after another.
    expect(at512.map((run) => run.contender)).toEqual(
      Array.from({ length: FULL_PARAMS.littlesLaw.repeats }, () => [
        'dify-batch-ordered',
        'dify-batch-unordered',
        'bare-undici',
        'readable-map',
        'p-map+dify-client',
        'naive-chunks',
      ]).flat(),
    );
    expect(new Set(at512.map((run) => run.contender))).toEqual(new Set(contenders));
  });
});

describe('estimateDuration', () => {
  const reference = {
    params: QUICK_PARAMS,
    scenarios: [
      {
        name: 'http-ceiling',
        contender: 'bare-undici',
        metric: 'req/s',
        value: 5000,
        concurrency: 32,
        valid: true,
      },
      {
        name: 'littles-law',
        contender: 'bare-undici',
        metric: 'req/s',
        value: 1000,
        concurrency: 64,
        valid: true,
      },
      {
        name: 'head-of-line',
        contender: 'naive-chunks',
        metric: 'req/s',
        value: 40,
        concurrency: 16,
        valid: true,
      },
    ] satisfies ResultRow[],
  };

  it('scales the reference rates to the new sizes and errs long', () => {
    const estimate = estimateDuration(
      [
        { kind: 'node', scenario: 'http-ceiling', contender: 'bare-undici', count: 100_000, concurrency: 32 },
        // Below the reference c: latency-bound, scaled down; above it: no gain assumed.
        { kind: 'node', scenario: 'littles-law', contender: 'bare-undici', count: 1000, concurrency: 32 },
        { kind: 'node', scenario: 'littles-law', contender: 'bare-undici', count: 1000, concurrency: 128 },
        // The full run's latencies are 4 × the quick run's: a quarter of the rate.
        { kind: 'node', scenario: 'head-of-line', contender: 'naive-chunks', count: 100, concurrency: 16 },
      ],
      FULL_PARAMS,
      reference,
    );
    const seconds = estimate.runs.map((r) => [
      r.run.scenario,
      r.run.concurrency,
      Math.round(r.seconds * 10) / 10,
    ]);
    expect(seconds).toEqual([
      ['http-ceiling', 32, 20.4],
      ['head-of-line', 16, 10.4],
      ['littles-law', 32, 2.4],
      ['littles-law', 128, 1.4],
    ]);
    expect(estimate.totalSeconds).toBeCloseTo(20.4 + 10.4 + 2.4 + 1.4 + 2, 0);
    const text = formatEstimate(estimate, 20, 'the test reference');
    expect(text).toMatch(/^estimated duration: 0\.6 min/);
    expect(text).toContain('over the ~0.3 min budget');
    expect(text).toContain('http-ceiling bare-undici c=32 100,000 items: 20 s (reference 5000/s)');
  });

  it('adds a warm-up at the 0 ms rate of the contender', () => {
    const warm = {
      kind: 'node',
      scenario: 'littles-law',
      contender: 'bare-undici',
      count: 1000,
      concurrency: 64,
    } as const;
    const [cold, warmed] = [warm, { ...warm, warmup: 10_000 }].map(
      (run) => estimateDuration([run], FULL_PARAMS, reference).runs[0]!,
    );
    // 10,000 records at the reference's http-ceiling 5,000 req/s.
    expect(warmed!.seconds - cold!.seconds).toBeCloseTo(2, 5);
    expect(warmed!.basis).toContain('warm-up 10000 at 5000/s');
  });

  it('guesses, and says so, where the reference has no row', () => {
    const [run] = estimateDuration(
      [{ kind: 'python', scenario: 'overhead', contender: 'python-unordered', count: 2000, concurrency: 8 }],
      FULL_PARAMS,
      undefined,
    ).runs;
    expect(run?.basis).toBe('guess: 1000/s');
    expect(run?.seconds).toBeCloseTo(3.2);
  });
});
