import type { BenchRunner, Measured } from '../BenchRunner.js';
import { RUN_BATCH_GROUP_SIZE } from '../contenders/runDifyRunBatch.js';
import type { NodeContender } from '../protocol.js';

/** Read-ahead of the main table: dify-batch's default window, given to every windowed contender. */
export const HEAD_OF_LINE_WINDOW_PER_C = 16;
/** The second table: every windowed contender at a tighter window. */
export const HEAD_OF_LINE_TIGHT_WINDOW_PER_C = 4;

/**
 * head-of-line: log-normal latency (p50, p99); ordered vs unordered dify-batch and the baselines at the
 * same concurrency (Dify's Run Batch at its own 5), every contender on the same items. Windowed
 * contenders (dify-batch, Readable.map) get the same read-ahead, 16 × c, then again 4 × c. Ratio =
 * throughput ÷ dify-batch unordered at the same window.
 */
export async function runHeadOfLine(runner: BenchRunner): Promise<void> {
  const { p50Ms, p99Ms, concurrency, count } = runner.params.headOfLine;
  await (await runner.emulator()).configure({
    latency: { kind: 'lognormal', p50Ms, p99Ms },
    rateLimitRps: 0,
  });
  const source = { kind: 'generated', count, payloadBytes: runner.params.payloadBytes } as const;
  const windowed: NodeContender[] = ['dify-batch-unordered', 'dify-batch-ordered', 'readable-map'];
  const fixed: NodeContender[] = ['p-map+dify-client', 'naive-chunks', 'dify-run-batch'];

  for (const perC of [HEAD_OF_LINE_WINDOW_PER_C, HEAD_OF_LINE_TIGHT_WINDOW_PER_C]) {
    const window = perC * concurrency;
    const runs: Measured[] = [];
    for (const contender of windowed)
      runs.push(await runner.node('head-of-line', contender, { source, concurrency, window }));
    if (perC === HEAD_OF_LINE_WINDOW_PER_C) {
      for (const contender of fixed) {
        const c = contender === 'dify-run-batch' ? RUN_BATCH_GROUP_SIZE : concurrency;
        runs.push(await runner.node('head-of-line', contender, { source, concurrency: c }));
      }
      for (const ordered of [false, true]) {
        const benthos = await runner.benthos('head-of-line', ordered, count, concurrency);
        if (benthos !== undefined) runs.push(benthos);
        const python = await runner.python('head-of-line', ordered, count, concurrency);
        if (python !== undefined) runs.push(python);
      }
    }
    const unordered = runs[0]!;
    const metric = perC === HEAD_OF_LINE_WINDOW_PER_C ? 'req/s' : `req/s (window ${perC} × c)`;
    for (const run of runs) {
      const isWindowed = windowed.includes(run.contender as NodeContender);
      runner.add({
        name: 'head-of-line',
        contender: run.contender,
        metric,
        value: run.perSecond,
        ratio: run.perSecond / unordered.perSecond,
        concurrency: run.concurrency,
        valid: run.valid,
        note: `${run.report.check.expected} items; ${isWindowed ? `window ${window}; ` : ''}ratio = ÷ dify-batch-unordered`,
      });
    }
    if (perC === HEAD_OF_LINE_WINDOW_PER_C) {
      const ordered = runs[1]!;
      const naive = runs.find((run) => run.contender === 'naive-chunks')!;
      runner.add({
        name: 'head-of-line',
        contender: 'dify-batch-ordered',
        metric: 'speed-up vs naive',
        value: ordered.perSecond / naive.perSecond,
        ratio: ordered.perSecond / naive.perSecond,
        concurrency,
        valid: ordered.valid && naive.valid,
      });
    }
  }
}
