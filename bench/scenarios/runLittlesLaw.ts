import type { BenchRunner } from '../BenchRunner.js';
import type { NodeContender } from '../protocol.js';
import { medianOf } from '../summarizeRepeats.js';

/** The concurrency whose dify-batch runs `--profile` profiles (both the quick and the full run have it). */
export const LITTLES_LAW_PROFILED_C = 256;

/**
 * littles-law: fixed latency L, concurrency c from 8 to 512; achieved throughput ÷ (c ÷ L). Items per run
 * = c × rounds, so every run lasts about `rounds` × L whatever c. Every contender but the Python anchor runs
 * `repeats` times at each c, interleaved; rows are medians. Each Node contender first processes `warmup`
 * untimed records (at 0 ms) in the same process, so a 1.5-second run measures a warm client's concurrency,
 * not V8's JIT warming up; Benthos (compiled) and the Python anchor (no JIT) run cold. This is also the data
 * of the plot.
 */
export async function runLittlesLaw(runner: BenchRunner): Promise<void> {
  const { latencyMs, concurrencies, rounds, allBaselines, repeats, warmup } = runner.params.littlesLaw;
  // The warm-up runs at 0 ms (answered asynchronously, so calls overlap), the measured run at L.
  const warm = {
    warmup,
    warmupEmulator: {
      during: { latency: { kind: 'fixed', ms: 0 }, answerAsync: true },
      after: { latency: { kind: 'fixed', ms: latencyMs }, answerAsync: false },
    },
  } as const;
  await (await runner.emulator()).configure({ latency: { kind: 'fixed', ms: latencyMs }, rateLimitRps: 0 });
  const contenders: NodeContender[] = [
    'dify-batch-ordered',
    'dify-batch-unordered',
    'bare-undici',
    'readable-map',
    ...(allBaselines ? (['p-map+dify-client', 'naive-chunks'] as const) : []),
  ];
  // One call at a time: the latency a call really has here (L + HTTP round trip + timer slack).
  const floorCount = 40;
  const floor = await runner.node('littles-law', 'bare-undici', {
    ...warm,
    source: { kind: 'generated', count: floorCount, payloadBytes: runner.params.payloadBytes },
    concurrency: 1,
  });
  runner.add({
    name: 'littles-law',
    contender: 'bare-undici',
    metric: 'latency floor ms',
    value: floor.report.wallMs / floorCount,
    ratio: latencyMs / (floor.report.wallMs / floorCount),
    concurrency: 1,
    valid: floor.valid,
    note: 'ratio = L ÷ floor: the best Little ratio reachable here',
  });
  for (const concurrency of concurrencies) {
    const count = concurrency * rounds;
    const source = { kind: 'generated', count, payloadBytes: runner.params.payloadBytes } as const;
    const repeated = await runner.interleaved(repeats, [
      ...contenders.map(
        (contender) => () => runner.node('littles-law', contender, { ...warm, source, concurrency }),
      ),
      () => runner.benthos('littles-law', false, count, concurrency),
    ]);
    // Once: CPU-bound at ~100–200 req/s from c = 64, a run at c = 512 takes a minute and a half.
    const python = await runner.python('littles-law', false, count, concurrency);
    if (python !== undefined) repeated.push([python]);
    if (concurrency === LITTLES_LAW_PROFILED_C) {
      for (const contender of ['dify-batch-ordered', 'dify-batch-unordered'] as const)
        await runner.profileRun('littles-law', contender, { ...warm, source, concurrency });
    }
    const ideal = concurrency / (latencyMs / 1000);
    for (const runs of repeated.filter((r) => r.length > 0)) {
      const perSecond = medianOf(runs, (run) => run.perSecond);
      runner.add({
        name: 'littles-law',
        contender: runs[0]!.contender,
        metric: 'req/s',
        ...perSecond,
        ratio: perSecond.value / ideal,
        concurrency,
        valid: runs.every((run) => run.valid),
      });
    }
  }
}
