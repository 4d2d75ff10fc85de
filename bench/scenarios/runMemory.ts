import type { BenchRunner } from '../BenchRunner.js';
import type { NodeContender } from '../protocol.js';

export const MEMORY_GOAL_GROWTH_MB = 50;

/**
 * memory: an N-line NDJSON file through a zero-latency transport into a slow sink (capped items/s), so
 * backpressure decides the memory. Value = RSS growth in MB: peak − RSS once 10% of the input is through.
 */
export async function runMemory(runner: BenchRunner): Promise<void> {
  const { count, concurrency, sinkItemsPerSecond } = runner.params.memory;
  process.stdout.write(`  memory: preparing ${count.toLocaleString('en-US')}-line input (once)\n`);
  const path = await runner.input(count);
  const source = { kind: 'file', path, count, payloadBytes: runner.params.payloadBytes } as const;
  const contenders: NodeContender[] = ['dify-batch-ordered', 'dify-batch-unordered', 'readable-map'];
  for (const contender of contenders) {
    const run = await runner.node('memory', contender, {
      source,
      concurrency,
      inProcess: true,
      sinkItemsPerSecond,
    });
    const { rssPeakMb, rssStartMb, rssWarmMb } = run.report;
    // Growth once the heap has warmed up (10% of the input through): what keeps growing with the input.
    const growth = rssPeakMb - rssWarmMb;
    const isOurs = contender.startsWith('dify-batch');
    const common = { name: 'memory', contender, concurrency, valid: run.valid } as const;
    runner.add({
      ...common,
      metric: 'rss growth MB',
      value: growth,
      ...(isOurs ? { ratio: growth / MEMORY_GOAL_GROWTH_MB } : {}),
      note: `peak ${rssPeakMb.toFixed(0)} MB − ${rssWarmMb.toFixed(0)} MB at 10% of the input`,
    });
    runner.add({ ...common, metric: 'rss growth from start MB', value: rssPeakMb - rssStartMb });
    runner.add({ ...common, metric: 'peak rss MB', value: rssPeakMb });
    runner.add({
      ...common,
      metric: 'items/s',
      value: run.perSecond,
      note: `sink capped at ${sinkItemsPerSecond}/s`,
    });
  }
}
