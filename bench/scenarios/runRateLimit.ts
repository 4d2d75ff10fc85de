import type { BenchRunner, Measured } from '../BenchRunner.js';
import { medianOf } from '../summarizeRepeats.js';

/**
 * rate-limit: the emulator admits R req/s (token bucket) and answers the excess 429 without
 * `Retry-After`, as Dify's /v1 does. The bucket starts empty at every run (`rateLimitStartsFull: false`),
 * so no client can beat R. Goodput ÷ R and the share of calls rejected. Told the quota: dify-batch
 * (`rateLimit`) and Benthos (a `rate_limit` resource); not told: dify-batch with fixed concurrency (ordered
 * and unordered) and with adaptive concurrency, the SDK (no retry) and the Python anchor (tenacity retries).
 * The Python anchor and its dify-batch equal (unordered, not told) run `repeats` times; the rest once.
 */
export async function runRateLimit(runner: BenchRunner): Promise<void> {
  const { rps, count, concurrency, latencyMs, repeats } = runner.params.rateLimit;
  await (await runner.emulator()).configure({
    latency: { kind: 'fixed', ms: latencyMs },
    rateLimitRps: rps,
    rateLimitStartsFull: false,
    rateLimitRetryAfter: false,
  });
  const source = { kind: 'generated', count, payloadBytes: runner.params.payloadBytes } as const;
  const told = `told the quota: ${rps}/s`;
  const notTold = 'not told: fixed c, 429 backoff';
  const runs: [Measured[], string][] = [];
  for (const contender of ['dify-batch-ordered', 'dify-batch-unordered'] as const) {
    runs.push([
      [await runner.node('rate-limit', contender, { source, concurrency, rateLimitPerSecond: rps })],
      told,
    ]);
  }
  runs.push([
    [await runner.node('rate-limit', 'dify-batch-ordered', { source, concurrency, maxAttempts: 20 })],
    notTold,
  ]);
  runs.push([
    [
      await runner.node('rate-limit', 'dify-batch-ordered', {
        source,
        concurrency,
        maxAttempts: 20,
        adaptiveConcurrency: true,
      }),
    ],
    'not told: adaptive concurrency',
  ]);
  runs.push([
    [await runner.node('rate-limit', 'p-map+dify-client', { source, concurrency })],
    'not told: SDK, no retry',
  ]);
  const benthos = await runner.benthos('rate-limit', false, count, concurrency, rps);
  if (benthos !== undefined) runs.push([[benthos], told]);
  // Not told, fixed c, unordered: the Python anchor and its dify-batch equal. Backoff tails decide a run
  // of either, so the pair runs `repeats` times, interleaved, and the rows are medians.
  const [ours, python] = await runner.interleaved(repeats, [
    () => runner.node('rate-limit', 'dify-batch-unordered', { source, concurrency, maxAttempts: 20 }),
    () => runner.python('rate-limit', false, count, concurrency, 20),
  ]);
  runs.push([ours!, notTold]);
  if (python!.length > 0) runs.push([python!, 'not told: tenacity retries']);
  await (await runner.emulator()).configure({ rateLimitRps: 0, rateLimitStartsFull: true });

  for (const [of, note] of runs) {
    const common = {
      name: 'rate-limit',
      contender: of[0]!.contender,
      concurrency,
      valid: of.every((run) => run.valid),
      note,
    } as const;
    const goodput = medianOf(of, (run) => run.perSecond);
    runner.add({ ...common, metric: 'goodput/s', ...goodput, ratio: goodput.value / rps });
    const share = medianOf(of, (run) => {
      const requests = run.emulator?.requests ?? 0;
      return requests === 0 ? 0 : (run.emulator?.rejected ?? 0) / requests;
    });
    runner.add({ ...common, metric: 'rejected share', ...share, ratio: share.value });
  }
}
