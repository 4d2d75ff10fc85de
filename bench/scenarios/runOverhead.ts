import type { BenchRunner, Measured } from '../BenchRunner.js';
import type { NodeContender, ResultRow } from '../protocol.js';
import { summarizeRepeats } from '../summarizeRepeats.js';

export const OVERHEAD_GOAL_ITEMS_PER_SEC = 300_000;

/**
 * overhead: zero-latency in-process transport, N generated items through the full chain (source →
 * credit gate → call → reorder → batch → sink). Items/s and µs per item; the Node baselines run the same
 * echo transport for scale. Each contender runs `repeats` times, interleaved; rows are the median
 * (min–max in `spread`), and count only if every run's output check passed.
 */
export async function runOverhead(runner: BenchRunner): Promise<void> {
  const { count, concurrency } = runner.params.overhead;
  const source = { kind: 'generated', count, payloadBytes: runner.params.payloadBytes } as const;
  const contenders: NodeContender[] = [
    'dify-batch-ordered',
    'dify-batch-unordered',
    'readable-map',
    'naive-chunks',
  ];
  const spec = { source, concurrency, inProcess: true } as const;
  const repeated = await runner.interleaved(
    runner.params.repeats,
    contenders.map((contender) => () => runner.node('overhead', contender, spec)),
  );
  for (const [i, contender] of contenders.entries()) {
    const runs = repeated[i]!;
    const valid = runs.every((run) => run.valid);
    const isOurs = contender.startsWith('dify-batch');
    const row = (metric: string, of: (run: Measured) => number): ResultRow => {
      const { median, min, max, runs: n } = summarizeRepeats(runs.map(of));
      return {
        name: 'overhead',
        contender,
        metric,
        value: median,
        spread: { min, max, runs: n },
        concurrency,
        valid,
      };
    };
    const itemsPerSecond = row('items/s', (run) => run.perSecond);
    runner.add({
      ...itemsPerSecond,
      ...(isOurs
        ? {
            ratio: itemsPerSecond.value / OVERHEAD_GOAL_ITEMS_PER_SEC,
            note: `ratio = median items/s ÷ ${OVERHEAD_GOAL_ITEMS_PER_SEC.toLocaleString('en-US')}`,
          }
        : {}),
    });
    runner.add(row('µs/item', (run) => (run.report.wallMs * 1000) / count));
    runner.add(row('cpu-µs/item', (run) => (run.report.cpuUserUs + run.report.cpuSystemUs) / count));
  }
  for (const contender of ['dify-batch-ordered', 'dify-batch-unordered'] as const)
    await runner.profileRun('overhead', contender, spec);
}
