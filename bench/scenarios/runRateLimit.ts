import type { BenchRunner, Measured } from '../BenchRunner.js';

/**
 * rate-limit: the emulator admits R req/s (token bucket) and answers the excess 429 without
 * `Retry-After`, as Dify's /v1 does. The bucket starts empty at every run (`rateLimitStartsFull: false`),
 * so no client can beat R. Goodput ÷ R and the share of calls rejected. Told the quota: dify-batch
 * (`rateLimit`) and Benthos (a `rate_limit` resource); not told: dify-batch with fixed concurrency (ordered
 * and unordered) and with adaptive concurrency, the SDK (no retry) and the Python anchor (tenacity retries).
 */
export async function runRateLimit(runner: BenchRunner): Promise<void> {
  const { rps, count, concurrency, latencyMs } = runner.params.rateLimit;
  await (await runner.emulator()).configure({
    latency: { kind: 'fixed', ms: latencyMs },
    rateLimitRps: rps,
    rateLimitStartsFull: false,
    rateLimitRetryAfter: false,
  });
  const source = { kind: 'generated', count, payloadBytes: runner.params.payloadBytes } as const;
  const told = `told the quota: ${rps}/s`;
  const runs: [Measured, string][] = [];
  for (const contender of ['dify-batch-ordered', 'dify-batch-unordered'] as const) {
    runs.push([
      await runner.node('rate-limit', contender, { source, concurrency, rateLimitPerSecond: rps }),
      told,
    ]);
  }
  // Not told, fixed c, both orders: the unordered one is the Python anchor's equal (it is unordered too).
  for (const contender of ['dify-batch-ordered', 'dify-batch-unordered'] as const) {
    runs.push([
      await runner.node('rate-limit', contender, { source, concurrency, maxAttempts: 20 }),
      'not told: fixed c, 429 backoff',
    ]);
  }
  runs.push([
    await runner.node('rate-limit', 'dify-batch-ordered', {
      source,
      concurrency,
      maxAttempts: 20,
      adaptiveConcurrency: true,
    }),
    'not told: adaptive concurrency',
  ]);
  runs.push([
    await runner.node('rate-limit', 'p-map+dify-client', { source, concurrency }),
    'not told: SDK, no retry',
  ]);
  const benthos = await runner.benthos('rate-limit', false, count, concurrency, rps);
  if (benthos !== undefined) runs.push([benthos, told]);
  const python = await runner.python('rate-limit', false, count, concurrency, 20);
  if (python !== undefined) runs.push([python, 'not told: tenacity retries']);
  await (await runner.emulator()).configure({ rateLimitRps: 0, rateLimitStartsFull: true });

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
    runner.add({ ...common, metric: 'goodput/s', value: run.perSecond, ratio: run.perSecond / rps });
    const share = requests === 0 ? 0 : rejected / requests;
    runner.add({ ...common, metric: 'rejected share', value: share, ratio: share });
  }
}
