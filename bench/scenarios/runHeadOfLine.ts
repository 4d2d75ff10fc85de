import type { BenchRunner, Measured } from '../BenchRunner.js';
import { RUN_BATCH_GROUP_SIZE } from '../contenders/runDifyRunBatch.js';
import type { NodeContender } from '../protocol.js';

/**
 * head-of-line: log-normal latency (p50, p99); ordered vs unordered dify-batch and the baselines at the
 * same concurrency (Dify's Run Batch at its own 5). Ratio = throughput ÷ dify-batch unordered.
 */
export async function runHeadOfLine(runner: BenchRunner): Promise<void> {
  const { p50Ms, p99Ms, concurrency, count, slowBaselineCount } = runner.params.headOfLine;
  await (await runner.emulator()).configure({
    latency: { kind: 'lognormal', p50Ms, p99Ms },
    rateLimitRps: 0,
  });
  const payloadBytes = runner.params.payloadBytes;
  const contenders: [NodeContender, number][] = [
    ['dify-batch-unordered', count],
    ['dify-batch-ordered', count],
    ['readable-map', count],
    ['p-map+dify-client', count],
    ['naive-chunks', slowBaselineCount],
    ['dify-run-batch', slowBaselineCount],
  ];
  const runs: Measured[] = [];
  for (const [contender, n] of contenders) {
    const source = { kind: 'generated', count: n, payloadBytes } as const;
    const c = contender === 'dify-run-batch' ? RUN_BATCH_GROUP_SIZE : concurrency;
    runs.push(await runner.node('head-of-line', contender, { source, concurrency: c }));
  }
  for (const ordered of [false, true]) {
    const run = await runner.benthos(
      'head-of-line',
      ordered,
      ordered ? slowBaselineCount : count,
      concurrency,
    );
    if (run !== undefined) runs.push(run);
  }

  const unordered = runs[0]!;
  const ordered = runs[1]!;
  const naive = runs.find((run) => run.contender === 'naive-chunks')!;
  for (const run of runs) {
    runner.add({
      name: 'head-of-line',
      contender: run.contender,
      metric: 'req/s',
      value: run.perSecond,
      ratio: run.perSecond / unordered.perSecond,
      concurrency: run.concurrency,
      valid: run.valid,
      note: `${run.report.check.expected} items; ratio = ÷ dify-batch-unordered`,
    });
  }
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
