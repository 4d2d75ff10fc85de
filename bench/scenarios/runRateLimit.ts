import type { BenchRunner, Measured } from '../BenchRunner.js';

/**
 * rate-limit: the emulator admits R req/s (token bucket) and answers the excess 429 + Retry-After;
 * goodput ÷ R and the share of rejected calls. The bucket starts full (burst = R), so a client that
 * ignores the limit can briefly beat R; N ≫ R keeps that small. dify-batch runs told the quota
 * (`rateLimit`), relying on Retry-After alone, and (ordered) with adaptive concurrency + Retry-After.
 */
export async function runRateLimit(runner: BenchRunner): Promise<void> {
  const { rps, count, concurrency, latencyMs } = runner.params.rateLimit;
  // Retry-After is an opt-in knob of the emulator (Dify's /v1 never sends it); this scenario measures it.
  await (await runner.emulator()).configure({
    latency: { kind: 'fixed', ms: latencyMs },
    rateLimitRps: rps,
    rateLimitRetryAfter: true,
  });
  const source = { kind: 'generated', count, payloadBytes: runner.params.payloadBytes } as const;
  const runs: [Measured, string][] = [];
  for (const contender of ['dify-batch-ordered', 'dify-batch-unordered'] as const) {
    runs.push([
      await runner.node('rate-limit', contender, { source, concurrency, rateLimitPerSecond: rps }),
      `rateLimit.perSecond = ${rps}`,
    ]);
    runs.push([
      await runner.node('rate-limit', contender, { source, concurrency, maxAttempts: 20 }),
      'Retry-After only',
    ]);
  }
  runs.push([
    await runner.node('rate-limit', 'dify-batch-ordered', {
      source,
      concurrency,
      maxAttempts: 20,
      adaptiveConcurrency: true,
    }),
    'adaptive concurrency + Retry-After',
  ]);
  runs.push([await runner.node('rate-limit', 'p-map+dify-client', { source, concurrency }), 'SDK, no retry']);
  const benthos = await runner.benthos('rate-limit', false, count, concurrency);
  if (benthos !== undefined) runs.push([benthos, 'backoff_on 429, 5 retries']);
  await (await runner.emulator()).configure({ rateLimitRps: 0, rateLimitRetryAfter: false });

  for (const [run, note] of runs) {
    const requests = run.emulator?.requests ?? 0;
    const rejected = run.emulator?.rejected ?? 0;
    const common = {
      name: 'rate-limit',
      contender: run.contender,
      concurrency,
      valid: run.valid,
      note,
    } as const;
    runner.add({
      ...common,
      metric: 'goodput/s',
      value: run.perSecond,
      ratio: run.perSecond / rps,
    });
    const share = requests === 0 ? 0 : rejected / requests;
    runner.add({ ...common, metric: 'rejected share', value: share, ratio: share });
  }
}
