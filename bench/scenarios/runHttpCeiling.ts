import type { BenchRunner, Measured } from '../BenchRunner.js';
import type { ResultRow } from '../protocol.js';
import { medianOf } from '../summarizeRepeats.js';

/**
 * http-ceiling: emulator at 0 ms answering asynchronously (`answerAsync`, so calls overlap as they do
 * against any real server), keep-alive; requests/s and client CPU-µs per request of every contender at
 * the same concurrency, each Node contender after `warmup` untimed records in the same process (a warm
 * process's ceiling, not the JIT's warm-up). Each contender runs `repeats` times, interleaved; rows are the median (min–max
 * in `spread`). A row counts only when the emulator saw `concurrency` calls in flight at once in every
 * run. Ratio = ÷ the bare undici loop's median (req/s), or its CPU per request.
 */
export async function runHttpCeiling(runner: BenchRunner): Promise<void> {
  const { count, concurrency, warmup } = runner.params.httpCeiling;
  await (await runner.emulator()).configure({
    latency: { kind: 'fixed', ms: 0 },
    rateLimitRps: 0,
    answerAsync: true,
  });
  const source = { kind: 'generated', count, payloadBytes: runner.params.payloadBytes } as const;
  const node = (contender: Parameters<BenchRunner['node']>[1]) => () =>
    runner.node('http-ceiling', contender, { source, concurrency, warmup });
  const repeated = await runner.interleaved(runner.params.repeats, [
    node('bare-undici'),
    node('dify-batch-unordered'),
    node('dify-batch-ordered'),
    node('p-map+dify-client'),
    node('readable-map'),
    node('naive-chunks'),
    () => runner.benthos('http-ceiling', false, count, concurrency),
    () => runner.python('http-ceiling', false, count, concurrency),
  ]);
  for (const contender of ['dify-batch-unordered', 'dify-batch-ordered'] as const)
    await runner.profileRun('http-ceiling', contender, { source, concurrency, warmup });
  await (await runner.emulator()).configure({ answerAsync: false });

  const cpuPerRequest = (run: Measured): number =>
    (run.report.cpuUserUs + run.report.cpuSystemUs) / Math.max(1, run.emulator?.requests ?? count);
  const ran = repeated.filter((runs) => runs.length > 0);
  const bare = ran[0]!;
  const bareReqPerSecond = medianOf(bare, (run) => run.perSecond).value;
  const bareCpu = medianOf(bare, cpuPerRequest).value;
  for (const runs of ran) {
    const contender = runs[0]!.contender;
    const peaks = runs.map((run) => run.emulator?.peakActive ?? 0);
    // A contender that never had c calls in flight measured something other than concurrency.
    const reachedC = peaks.every((peak) => peak === concurrency);
    const peakNote = reachedC
      ? `peak ${concurrency} in flight in every run`
      : `INVALID: peak ${peaks.join('/')} in flight ≠ c=${concurrency}`;
    const common = {
      name: 'http-ceiling',
      contender,
      concurrency,
      valid: runs.every((run) => run.valid) && reachedC,
    } as const;
    const reqPerSecond: ResultRow = { ...common, metric: 'req/s', ...medianOf(runs, (run) => run.perSecond) };
    runner.add({ ...reqPerSecond, ratio: reqPerSecond.value / bareReqPerSecond, note: peakNote });
    const cpu = medianOf(runs, cpuPerRequest);
    runner.add({
      ...common,
      metric: 'cpu-µs/req',
      ...cpu,
      ratio: cpu.value / bareCpu,
      note: contender.startsWith('benthos') ? `${peakNote}; whole process, start-up included` : peakNote,
    });
  }
}
