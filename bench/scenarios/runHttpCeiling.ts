import type { BenchRunner, Measured } from '../BenchRunner.js';
import type { NodeContender } from '../protocol.js';

/**
 * http-ceiling: emulator at 0 ms answering asynchronously (`answerAsync`, so calls overlap as they do
 * against any real server), keep-alive; requests/s and client CPU-µs per request of every contender at
 * the same concurrency. A row counts only when the emulator saw `concurrency` calls in flight at once.
 * Ratio = ÷ the bare undici loop (req/s), or its CPU per request.
 */
export async function runHttpCeiling(runner: BenchRunner): Promise<void> {
  const { count, concurrency } = runner.params.httpCeiling;
  await (await runner.emulator()).configure({
    latency: { kind: 'fixed', ms: 0 },
    rateLimitRps: 0,
    answerAsync: true,
  });
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
  const python = await runner.python('http-ceiling', false, count, concurrency);
  if (python !== undefined) runs.push(python);
  await (await runner.emulator()).configure({ answerAsync: false });

  const bare = runs[0]!;
  const cpuPerRequest = (run: Measured): number =>
    (run.report.cpuUserUs + run.report.cpuSystemUs) / Math.max(1, run.emulator?.requests ?? count);
  for (const run of runs) {
    const peak = run.emulator?.peakActive ?? 0;
    // A contender that never had c calls in flight measured something other than concurrency.
    const reachedC = peak === concurrency;
    const common = {
      name: 'http-ceiling',
      contender: run.contender,
      concurrency,
      valid: run.valid && reachedC,
    } as const;
    const peakNote = reachedC
      ? `peak ${peak} in flight`
      : `INVALID: peak ${peak} in flight ≠ c=${concurrency}`;
    runner.add({
      ...common,
      metric: 'req/s',
      value: run.perSecond,
      ratio: run.perSecond / bare.perSecond,
      note: peakNote,
    });
    runner.add({
      ...common,
      metric: 'cpu-µs/req',
      value: cpuPerRequest(run),
      ratio: cpuPerRequest(run) / cpuPerRequest(bare),
      note: run.contender.startsWith('benthos') ? `${peakNote}; whole process, start-up included` : peakNote,
    });
  }
}
