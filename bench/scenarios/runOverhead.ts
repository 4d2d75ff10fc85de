import type { BenchRunner } from '../BenchRunner.js';
import type { NodeContender } from '../protocol.js';

export const OVERHEAD_GOAL_ITEMS_PER_SEC = 300_000;

/**
 * overhead: zero-latency in-process transport, N generated items through the full chain (source →
 * credit gate → call → reorder → batch → sink). Items/s and µs per item; the Node baselines run the same
 * echo transport for scale.
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
  for (const contender of contenders) {
    const run = await runner.node('overhead', contender, { source, concurrency, inProcess: true });
    const { wallMs, cpuUserUs, cpuSystemUs } = run.report;
    const isOurs = contender.startsWith('dify-batch');
    runner.add({
      name: 'overhead',
      contender,
      metric: 'items/s',
      value: run.perSecond,
      ...(isOurs ? { ratio: run.perSecond / OVERHEAD_GOAL_ITEMS_PER_SEC } : {}),
      concurrency,
      valid: run.valid,
      ...(isOurs ? { note: `ratio = items/s ÷ ${OVERHEAD_GOAL_ITEMS_PER_SEC.toLocaleString('en-US')}` } : {}),
    });
    runner.add({
      name: 'overhead',
      contender,
      metric: 'µs/item',
      value: (wallMs * 1000) / count,
      concurrency,
      valid: run.valid,
    });
    runner.add({
      name: 'overhead',
      contender,
      metric: 'cpu-µs/item',
      value: (cpuUserUs + cpuSystemUs) / count,
      concurrency,
      valid: run.valid,
    });
  }
}
