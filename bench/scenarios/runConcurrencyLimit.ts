import type { BenchRunner, Measured } from '../BenchRunner.js';

/**
 * concurrency-limit: what real Dify users hit. The app's concurrency limit (`max_active_requests`) is 4,
 * answered as Dify's code path does: 400 `invalid_param` "Too many requests. …", no Retry-After. The
 * client is configured at c = 32: dify-batch adaptive (AIMD, ≤ 32) against fixed c = 4 (told the limit)
 * and fixed c = 32 (retrying the refusals), plus the Python anchor at 32 (tenacity retries the 400).
 * Goodput, and the share of calls refused. Ratio = goodput ÷ the best fixed-c dify-batch goodput.
 */
export async function runConcurrencyLimit(runner: BenchRunner): Promise<void> {
  const { limit, concurrency, count, p50Ms, p99Ms } = runner.params.concurrencyLimit;
  await (await runner.emulator()).configure({
    latency: { kind: 'lognormal', p50Ms, p99Ms },
    rateLimitRps: 0,
    maxActiveRequests: limit,
    concurrencyLimitStatus: 400,
  });
  const source = { kind: 'generated', count, payloadBytes: runner.params.payloadBytes } as const;
  const runs: [Measured, string][] = [];
  try {
    runs.push([
      await runner.node('concurrency-limit', 'dify-batch-unordered', {
        source,
        concurrency,
        maxAttempts: 20,
        adaptiveConcurrency: true,
      }),
      `adaptive, ≤ ${concurrency}`,
    ]);
    runs.push([
      await runner.node('concurrency-limit', 'dify-batch-unordered', {
        source,
        concurrency: limit,
        maxAttempts: 20,
      }),
      `fixed c = ${limit} (the limit)`,
    ]);
    runs.push([
      await runner.node('concurrency-limit', 'dify-batch-unordered', {
        source,
        concurrency,
        maxAttempts: 20,
      }),
      `fixed c = ${concurrency}`,
    ]);
    const python = await runner.python('concurrency-limit', false, count, concurrency, 20);
    if (python !== undefined) runs.push([python, `semaphore ${concurrency}, tenacity retries`]);
  } finally {
    await (await runner.emulator()).configure({ maxActiveRequests: 0 });
  }
  const fixed = runs.slice(1, 3).filter(([run]) => run.valid);
  const bestFixed = Math.max(...fixed.map(([run]) => run.perSecond), Number.MIN_VALUE);
  for (const [run, note] of runs) {
    const requests = run.emulator?.requests ?? 0;
    const refused = run.emulator?.rejectedConcurrency ?? 0;
    const common = {
      name: 'concurrency-limit',
      contender: run.contender,
      concurrency: run.concurrency,
      valid: run.valid,
      note,
    } as const;
    runner.add({ ...common, metric: 'goodput/s', value: run.perSecond, ratio: run.perSecond / bestFixed });
    const share = requests === 0 ? 0 : refused / requests;
    runner.add({ ...common, metric: 'refused share', value: share, ratio: share });
  }
}
