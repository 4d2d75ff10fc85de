import type { BenchRunner } from '../BenchRunner.js';
import type { NodeContender } from '../protocol.js';

/** Goals (issue 10), defined before the run: peak RSS, and the post-GC heap's growth from 10 % to 100 %. */
export const MEMORY_GOAL_PEAK_RSS_MB = 200;
export const MEMORY_GOAL_HEAP_GROWTH_MB = 5;

/**
 * memory: an N-line NDJSON file through a zero-latency transport into a slow sink (capped items/s), so
 * backpressure decides the memory. Workers run with `--expose-gc`. Reported, for every contender: peak
 * RSS; RSS growth from the start and from 10 % of the input; heap used right after a forced GC at 10 %,
 * 50 % and 100 % of the input, and its growth from 10 % to 100 % (what keeps growing with the input).
 */
export async function runMemory(runner: BenchRunner): Promise<void> {
  const { count, concurrency, sinkItemsPerSecond } = runner.params.memory;
  if (!runner.isPlanning)
    process.stdout.write(`  memory: preparing ${count.toLocaleString('en-US')}-line input (once)\n`);
  const path = await runner.input(count, 'memory');
  const source = { kind: 'file', path, count, payloadBytes: runner.params.payloadBytes } as const;
  const contenders: NodeContender[] = ['dify-batch-ordered', 'dify-batch-unordered', 'readable-map'];
  for (const contender of contenders) {
    const run = await runner.node(
      'memory',
      contender,
      { source, concurrency, inProcess: true, sinkItemsPerSecond },
      ['--expose-gc'],
    );
    const { rssPeakMb, rssStartMb, rssWarmMb, heapAfterGcMb } = run.report;
    const isOurs = contender.startsWith('dify-batch');
    const common = { name: 'memory', contender, concurrency, valid: run.valid } as const;
    runner.add({
      ...common,
      metric: 'peak rss MB',
      value: rssPeakMb,
      ...(isOurs ? { ratio: rssPeakMb / MEMORY_GOAL_PEAK_RSS_MB } : {}),
    });
    runner.add({ ...common, metric: 'rss growth from start MB', value: rssPeakMb - rssStartMb });
    runner.add({ ...common, metric: 'rss growth from 10% MB', value: rssPeakMb - rssWarmMb });
    if (heapAfterGcMb !== undefined) {
      const [at10, at50, at100] = heapAfterGcMb;
      runner.add({ ...common, metric: 'heap after GC at 10% MB', value: at10 });
      runner.add({ ...common, metric: 'heap after GC at 50% MB', value: at50 });
      runner.add({ ...common, metric: 'heap after GC at 100% MB', value: at100 });
      runner.add({
        ...common,
        metric: 'heap growth 10%→100% MB',
        value: at100 - at10,
        ...(isOurs ? { ratio: (at100 - at10) / MEMORY_GOAL_HEAP_GROWTH_MB } : {}),
      });
    }
    runner.add({
      ...common,
      metric: 'items/s',
      value: run.perSecond,
      note: `sink capped at ${sinkItemsPerSecond}/s`,
    });
  }
}
