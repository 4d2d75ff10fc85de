import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { DIFY_CLIENT_DEFAULTS, DifyClient } from '../../src/dify/DifyClient.js';
import { resolveDifyClientOptions } from '../../src/dify/resolveDifyClientOptions.js';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import type { EmulatorOptions } from '../../src/emulator/EmulatorOptions.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { type RunBatchOptions, runBatch } from '../../src/pipeline/runBatch.js';
import { fromAsyncIterable } from '../../src/sources/fromAsyncIterable.js';
import { memorySink } from '../helpers/memorySink.js';

const KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;
const started: Emulator[] = [];

async function emulatorWith(options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = await startEmulator(options);
  started.push(emulator);
  return emulator;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.close()));
});

const records = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, text: `hello ${i}` }));

function run(emulatorUrl: string, count: number, options: Partial<RunBatchOptions> = {}) {
  const { sink, results } = memorySink<ItemResult>();
  const promise = runBatch({
    source: fromAsyncIterable(records(count), { idField: 'id' }),
    sink,
    dify: { baseUrl: emulatorUrl, apiKey: KEY },
    app: 'workflow',
    ...options,
  });
  return { promise, results };
}

/** A port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('fail fast on what retries cannot fix', () => {
  it('a rejected API key stops the run after at most `concurrency` calls, naming the cause', async () => {
    const emulator = await emulatorWith({ latency: { kind: 'fixed', ms: 5 } });
    const { promise, results } = run(emulator.url, 200, {
      dify: { baseUrl: emulator.url, apiKey: 'app-ThisKeyDoesNotExist000' },
      concurrency: 4,
    });
    await expect(promise).rejects.toMatchObject({
      code: 'ERR_DIFY_AUTH',
      message: 'the API key was rejected (401 unauthorized: Access token is invalid)',
    });
    expect(emulator.stats().requests).toBeGreaterThan(0);
    expect(emulator.stats().requests).toBeLessThanOrEqual(4);
    expect(results).toEqual([]);
  });

  it('a base URL without /v1 stops the run after at most `concurrency` calls, naming the URL', async () => {
    const emulator = await emulatorWith();
    const base = emulator.url.replace(/\/v1$/, '');
    const { promise } = run(base, 100, { dify: { baseUrl: base, apiKey: KEY }, concurrency: 8 });
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(error?.code).toBe('ERR_DIFY_ROUTE');
    expect(error?.message).toMatch(
      new RegExp(`^404 from ${base.replaceAll('.', '\\.')}/workflows/run: the base URL probably lacks /v1`),
    );
    expect(emulator.stats().requests).toBeLessThanOrEqual(8);
  });
});

describe('outages are waited out', () => {
  it('a server down for ~2 s mid-run: 0 failed, exactly one result per record, in order', async () => {
    const first = await emulatorWith({ latency: { kind: 'uniform', minMs: 1, maxMs: 4 } });
    const port = first.port;
    let restarted: Emulator | undefined;
    const { sink, results } = memorySink<ItemResult>({
      onWrite: () => {
        // Take the server down once a quarter of the results are written, bring it back 2 s later.
        if (results.length >= 250 && restarted === undefined) {
          restarted = first; // marks "done" before the async work starts
          void (async () => {
            await first.close();
            await new Promise((r) => setTimeout(r, 2_000));
            restarted = await emulatorWith({ port, latency: { kind: 'uniform', minMs: 1, maxMs: 4 } });
          })();
        }
      },
    });
    const summary = await runBatch({
      source: fromAsyncIterable(records(1000)),
      sink,
      dify: { baseUrl: first.url, apiKey: KEY },
      app: 'workflow',
      concurrency: 16,
    });
    expect(restarted).not.toBe(first); // the server really went down and came back
    expect(results.map((r) => r.seq)).toEqual([...Array(1000).keys()]);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(summary).toMatchObject({ written: 1000, succeeded: 1000, failed: 0 });
    console.log(
      `server down ~2 s: ${summary.retries} retries (${summary.ambiguousRetries} ambiguous), max attempts`,
      Math.max(...results.map((r) => r.attempts)),
      `, ${(summary.elapsedMs / 1000).toFixed(1)} s`,
    );
    // Calls cut by the shutdown were sent (ambiguous) and are counted, not hidden.
    expect(summary.ambiguousRetries).toBe(results.reduce((n, r) => n + (r.ambiguousRetries ?? 0), 0));
  }, 30_000);

  it('Dify unreachable for longer than maxOutageMs: the run stops with ERR_DIFY_UNREACHABLE', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/v1`;
    const startedAt = Date.now();
    const { promise, results } = run(url, 50, { concurrency: 4, maxOutageMs: 1_500 });
    const error = (await promise.then(
      () => undefined,
      (e: unknown) => e,
    )) as { code: string; message: string } | undefined;
    expect(error?.code).toBe('ERR_DIFY_UNREACHABLE');
    const since = /^Dify unreachable since (\S+) /.exec(error!.message)?.[1];
    expect(Date.parse(since!)).toBeGreaterThanOrEqual(startedAt - 1_000);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_500);
    // Nothing was turned into a failed record: the run stopped instead.
    expect(results.filter((r) => !r.ok)).toEqual([]);
  }, 20_000);
});

describe("Dify's concurrency limit is backpressure, not failure", () => {
  it('maxActive 2 against concurrency 16 (adaptive by default): 0 failed, < 10 % of calls rejected', async () => {
    const emulator = await emulatorWith({ latency: { kind: 'fixed', ms: 10 }, maxActiveRequests: 2 });
    const { promise, results } = run(emulator.url, 200, { concurrency: 16 });
    const summary = await promise;
    const stats = (await (await fetch(`${emulator.url.replace(/\/v1$/, '')}/_emulator/stats`)).json()) as {
      requests: number;
      rejectedConcurrency: number;
    };
    expect(results.map((r) => r.seq)).toEqual([...Array(200).keys()]);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(summary.concurrencyLimit).toBe(2);
    console.log('maxActive 2, c=16:', stats.rejectedConcurrency, 'of', stats.requests, 'calls rejected');
    expect(stats.rejectedConcurrency / stats.requests).toBeLessThan(0.1);
  }, 30_000);

  it('without adaptive concurrency, rejections still never exhaust a record (maxAttempts 2)', async () => {
    const emulator = await emulatorWith({ latency: { kind: 'fixed', ms: 5 }, maxActiveRequests: 2 });
    const { promise, results } = run(emulator.url, 60, {
      concurrency: 8,
      adaptiveConcurrency: false,
      retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
    });
    await promise;
    expect(emulator.stats().rejectedConcurrency).toBeGreaterThan(0);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(Math.max(...results.map((r) => r.attempts))).toBeGreaterThan(2);
  }, 30_000);
});

describe('never paid twice silently', () => {
  it('a stream dropped mid-run is ambiguous and names the workflow run and task it had seen', async () => {
    const emulator = await emulatorWith();
    const client = new DifyClient({ baseUrl: emulator.url, apiKey: KEY });
    try {
      const error = await client
        .run({ app: 'workflow', inputs: { id: 'x', __fault: 'drop' }, user: 'u', responseMode: 'streaming' })
        .then(
          () => undefined,
          (e: unknown) => e as Record<string, unknown>,
        );
      expect(error).toMatchObject({ code: 'ERR_DIFY_STREAM', retryable: true, ambiguous: true });
      expect(error?.workflowRunId).toMatch(/^[0-9a-f-]{36}$/);
      expect(error?.taskId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await client.close();
    }
  });

  it('--timeout-ms bounds the first byte too: unset phase deadlines never outlast totalMs', () => {
    const resolve = (timeouts: Record<string, number>) =>
      resolveDifyClientOptions(
        { baseUrl: 'http://127.0.0.1:1/v1', apiKey: KEY, timeouts },
        DIFY_CLIENT_DEFAULTS,
      ).timeouts;
    expect(resolve({ totalMs: 2_000 })).toMatchObject({ firstByteMs: 2_000, idleMs: 2_000, totalMs: 2_000 });
    expect(resolve({ totalMs: 2_000, firstByteMs: 5_000 })).toMatchObject({
      firstByteMs: 5_000,
      idleMs: 2_000,
    });
    expect(resolve({})).toMatchObject({ firstByteMs: 300_000, idleMs: 60_000, totalMs: 600_000 });
  });

  it('a call that timed out after it was sent is retried and counted as ambiguous', async () => {
    const emulator = await emulatorWith();
    const { sink, results } = memorySink<ItemResult>();
    const inputs = records(20).map((r, i) => (i % 5 === 0 ? { ...r, __fault: 'stall:1' } : r));
    const summary = await runBatch({
      source: fromAsyncIterable(inputs, { idField: 'id' }),
      sink,
      dify: { baseUrl: emulator.url, apiKey: KEY, timeouts: { totalMs: 300 } },
      app: 'workflow',
      concurrency: 8,
      retry: { baseDelayMs: 5 },
    });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const ambiguous = results.filter((r) => r.ambiguousRetries !== undefined).map((r) => r.id);
    expect(ambiguous).toEqual(['r0', 'r5', 'r10', 'r15']);
    expect(results.find((r) => r.id === 'r5')).toMatchObject({ attempts: 2, ambiguousRetries: 1 });
    // Lean JSON: the field is absent, not 0, on the others.
    expect('ambiguousRetries' in results.find((r) => r.id === 'r1')!).toBe(false);
    expect(summary.ambiguousRetries).toBe(4);
  });

  it('the per-record deadline fails a record that cannot succeed with ERR_DIFY_TIMEOUT naming it', async () => {
    const emulator = await emulatorWith();
    const { sink, results } = memorySink<ItemResult>();
    const inputs = records(8).map((r, i) => (i === 3 ? { ...r, __fault: '500' } : r));
    await runBatch({
      source: fromAsyncIterable(inputs, { idField: 'id' }),
      sink,
      dify: { baseUrl: emulator.url, apiKey: KEY },
      app: 'workflow',
      concurrency: 4,
      retry: { maxAttempts: 1000, baseDelayMs: 20, maxDelayMs: 40, maxRetryTimeMs: 400 },
    });
    expect(results.map((r) => r.seq)).toEqual([...Array(8).keys()]);
    const failed = results.filter((r) => !r.ok);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ id: 'r3', error: { code: 'ERR_DIFY_TIMEOUT', status: 500 } });
    expect(failed[0]!.ok === false && failed[0]!.error.message).toMatch(
      /^record r3 \(seq 3\): no result within the record deadline of 400 ms .* last error: ERR_DIFY_HTTP: /,
    );
  });
});
