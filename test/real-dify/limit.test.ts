/**
 * Dify's app concurrency limit, for real: the API restarted with `APP_MAX_ACTIVE_REQUESTS=2`. At
 * concurrency 16, with adaptive concurrency (the default), no record is lost in either mode, and the
 * limit stated in Dify's message ("… is 2.") becomes the ceiling at once in blocking mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { DifyClient } from '../../src/dify/DifyClient.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import { fromAsyncIterable } from '../../src/sources/fromAsyncIterable.js';
import { memorySink } from '../helpers/memorySink.js';
import { realDify, restartWithLimit } from './realDify.js';

const dify = realDify();

beforeAll(async () => {
  await restartWithLimit(2);
}, 180_000);
afterAll(async () => {
  await restartWithLimit(0);
}, 180_000);

it('answers the limit as 400 invalid_param naming the limit, no Retry-After', async () => {
  const client = new DifyClient({ baseUrl: dify.baseUrl, apiKey: dify.key });
  const calls = Array.from({ length: 12 }, (_, i) =>
    client.run({ app: 'workflow', inputs: { query: `p${i}` }, user: 'limit', responseMode: 'blocking' }).then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  const errors = (await Promise.all(calls)).filter((e) => e !== undefined) as {
    status: number;
    difyCode: string;
    retryable: boolean;
    retryAfterMs: number | undefined;
    message: string;
  }[];
  await client.close();
  expect(errors.length).toBeGreaterThan(0);
  for (const e of errors) {
    expect([e.status, e.difyCode, e.retryable, e.retryAfterMs]).toEqual([
      400,
      'invalid_param',
      true,
      undefined,
    ]);
    expect(e.message).toContain(
      `Too many requests. Please try again later. The current maximum concurrent requests allowed for ${dify.appId} is 2.`,
    );
  }
});

describe.each(['blocking', 'streaming'] as const)('runBatch at c=16 under a limit of 2, %s', (mode) => {
  it('loses no record: every output equals its input, in order', async () => {
    const n = 120;
    const { sink, results } = memorySink<ItemResult>();
    const records = Array.from({ length: n }, (_, i) => ({ query: `q${i} ✓` }));
    const summary = await runBatch({
      source: fromAsyncIterable(records),
      sink,
      dify: { baseUrl: dify.baseUrl, apiKey: dify.key },
      app: 'workflow',
      responseMode: mode,
      concurrency: 16,
    });
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: n }, (_, i) => i));
    for (const r of results) {
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.outputs).toEqual({ result: `q${r.seq} ✓` });
    }
    expect(summary.failed).toBe(0);
    // Blocking: the stated limit is the ceiling. Streaming: Dify frees the slot before the stream
    // starts (dify-api.md §5), so the stated limit does not bound streaming runs and is not taken as one.
    if (mode === 'blocking') expect(summary.concurrencyLimit).toBeLessThanOrEqual(2);
    process.stderr.write(
      `limit 2, c=16, ${mode}: ${summary.throughputPerSec.toFixed(1)} records/s, ${summary.retries} retries, final limit ${summary.concurrencyLimit}\n`,
    );
  });
});
