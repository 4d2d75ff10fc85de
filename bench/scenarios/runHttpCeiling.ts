import type { BenchRunner, Measured } from '../BenchRunner.js';
import type { NodeContender } from '../protocol.js';

/**
 * http-ceiling: emulator at 0 ms with keep-alive; requests/s and client CPU-µs per request of every
 * contender against a bare undici loop at the same concurrency (the physical limit on this machine).
 */
export async function runHttpCeiling(runner: BenchRunner): Promise<void> {
  const { count, concurrency } = runner.params.httpCeiling;
  await (await runner.emulator()).configure({ latency: { kind: 'fixed', ms: 0 }, rateLimitRps: 0 });
  const source = { kind: 'generated', count, payloadBytes: runner.params.payloadBytes } as const;
  const contenders: NodeContender[] = [
    'bare-undici',
    'dify-batch-unordered',
    'dify-batch-ordered',
    'p-map+dify-client',
    'readable-map',
    'naive-chunks',
  ];
  const runs: Measured[] = [];
  for (const contender of contenders)
    runs.push(await runner.node('http-ceiling', contender, { source, concurrency }));
  const benthos = await runner.benthos('http-ceiling', false, count, concurrency);
  if (benthos !== undefined) runs.push(benthos);

  const bare = runs[0]!;
  const cpuPerRequest = (run: Measured): number =>
    (run.report.cpuUserUs + run.report.cpuSystemUs) / Math.max(1, run.emulator?.requests ?? count);
  for (const run of runs) {
    const common = { name: 'http-ceiling', contender: run.contender, concurrency, valid: run.valid } as const;
    runner.add({ ...common, metric: 'req/s', value: run.perSecond, ratio: run.perSecond / bare.perSecond });
    runner.add({
      ...common,
      metric: 'cpu-µs/req',
      value: cpuPerRequest(run),
      ratio: cpuPerRequest(run) / cpuPerRequest(bare),
      ...(run.contender.startsWith('benthos') ? { note: 'whole process, start-up included' } : {}),
    });
  }
}
