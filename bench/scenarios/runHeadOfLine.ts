import type { BenchRunner, Measured } from '../BenchRunner.js';
import { RUN_BATCH_GROUP_SIZE } from '../contenders/runDifyRunBatch.js';
import type { NodeContender } from '../protocol.js';
import { medianOf } from '../summarizeRepeats.js';

/** Read-ahead of the main table: dify-batch's default window, given to every windowed contender. */
export const HEAD_OF_LINE_WINDOW_PER_C = 16;
/** The second table: every windowed contender at a tighter window. */
export const HEAD_OF_LINE_TIGHT_WINDOW_PER_C = 4;

/**
 * head-of-line: log-normal latency (p50, p99); ordered vs unordered dify-batch and the baselines at the
 * same concurrency (Dify's Run Batch at its own 5), every contender on the same items. Windowed
 * contenders (dify-batch, Readable.map) get the same read-ahead, 16 × c, then again 4 × c, and run
 * `repeats` times each, interleaved (rows are medians); the others run once. Ratio = throughput ÷ dify-batch
 * unordered at the same window.
 */
export async function runHeadOfLine(runner: BenchRunner): Promise<void> {
  const { p50Ms, p99Ms, concurrency, count, repeats } = runner.params.headOfLine;
  await (await runner.emulator()).configure({
    latency: { kind: 'lognormal', p50Ms, p99Ms },
    rateLimitRps: 0,
  });
  const source = { kind: 'generated', count, payloadBytes: runner.params.payloadBytes } as const;
  const windowed: NodeContender[] = ['dify-batch-unordered', 'dify-batch-ordered', 'readable-map'];
  const fixed: NodeContender[] = ['p-map+dify-client', 'naive-chunks', 'dify-run-batch'];

  for (const perC of [HEAD_OF_LINE_WINDOW_PER_C, HEAD_OF_LINE_TIGHT_WINDOW_PER_C]) {
    const window = perC * concurrency;
    // The windowed contenders decide the ordered-vs-Readable.map goal: `repeats` runs each, interleaved.
    const runs: Measured[][] = await runner.interleaved(
      repeats,
      windowed.map(
        (contender) => () => runner.node('head-of-line', contender, { source, concurrency, window }),
      ),
    );
    if (perC === HEAD_OF_LINE_WINDOW_PER_C) {
      for (const contender of fixed) {
        const c = contender === 'dify-run-batch' ? RUN_BATCH_GROUP_SIZE : concurrency;
        runs.push([await runner.node('head-of-line', contender, { source, concurrency: c })]);
      }
      for (const ordered of [false, true]) {
        const benthos = await runner.benthos('head-of-line', ordered, count, concurrency);
        if (benthos !== undefined) runs.push([benthos]);
        const python = await runner.python('head-of-line', ordered, count, concurrency);
        if (python !== undefined) runs.push([python]);
      }
    }
    const perSecond = (of: readonly Measured[]) => medianOf(of, (run) => run.perSecond);
    const unordered = perSecond(runs[0]!).value;
    const metric = perC === HEAD_OF_LINE_WINDOW_PER_C ? 'req/s' : `req/s (window ${perC} × c)`;
    for (const of of runs) {
      const first = of[0]!;
      const isWindowed = windowed.includes(first.contender as NodeContender);
      const median = perSecond(of);
      runner.add({
        name: 'head-of-line',
        contender: first.contender,
        metric,
        ...median,
        ratio: median.value / unordered,
        concurrency: first.concurrency,
        valid: of.every((run) => run.valid),
        note: `${first.report.check.expected} items; ${isWindowed ? `window ${window}; ` : ''}ratio = ÷ dify-batch-unordered`,
      });
    }
    if (perC === HEAD_OF_LINE_WINDOW_PER_C) {
      const ordered = runs[1]!;
      const naive = runs.find((of) => of[0]!.contender === 'naive-chunks')!;
      const speedUp = perSecond(ordered).value / perSecond(naive).value;
      runner.add({
        name: 'head-of-line',
        contender: 'dify-batch-ordered',
        metric: 'speed-up vs naive',
        value: speedUp,
        ratio: speedUp,
        concurrency,
        valid: ordered.every((run) => run.valid) && naive.every((run) => run.valid),
      });
    }
  }
}
