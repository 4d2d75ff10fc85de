import type { BenchRunner, Measured } from '../BenchRunner.js';
import type { NodeContender } from '../protocol.js';

/**
 * littles-law: fixed latency L, concurrency c from 8 to 512; achieved throughput ÷ (c ÷ L). Items per run
 * = c × rounds, so every run lasts about `rounds` × L whatever c. This is also the data of the plot.
 */
export async function runLittlesLaw(runner: BenchRunner): Promise<void> {
  const { latencyMs, concurrencies, rounds } = runner.params.littlesLaw;
  await (await runner.emulator()).configure({ latency: { kind: 'fixed', ms: latencyMs }, rateLimitRps: 0 });
  const contenders: NodeContender[] = [
    'dify-batch-ordered',
    'dify-batch-unordered',
    'bare-undici',
    'p-map+dify-client',
    'readable-map',
    'naive-chunks',
  ];
  for (const concurrency of concurrencies) {
    const count = concurrency * rounds;
    const source = { kind: 'generated', count, payloadBytes: runner.params.payloadBytes } as const;
    const runs: Measured[] = [];
    for (const contender of contenders)
      runs.push(await runner.node('littles-law', contender, { source, concurrency }));
    const benthos = await runner.benthos('littles-law', false, count, concurrency);
    if (benthos !== undefined) runs.push(benthos);
    const ideal = concurrency / (latencyMs / 1000);
    for (const run of runs) {
      runner.add({
        name: 'littles-law',
        contender: run.contender,
        metric: 'req/s',
        value: run.perSecond,
        ratio: run.perSecond / ideal,
        concurrency,
        valid: run.valid,
      });
    }
  }
}
