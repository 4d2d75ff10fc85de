import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DifyApiError } from '../../src/core/DifyApiError.js';
import { retryBackoff } from '../../src/operators/retryBackoff.js';
import { advance } from './virtualTime.js';

const http503 = (retryAfterMs?: number) =>
  new DifyApiError({
    code: 'ERR_DIFY_HTTP',
    message: 'HTTP 503',
    status: 503,
    retryable: true,
    retryAfterMs,
  });
const http400 = () =>
  new DifyApiError({ code: 'ERR_DIFY_HTTP', message: 'HTTP 400', status: 400, retryable: false });

/** Runs retryBackoff on virtual time; records when each attempt started. */
async function run<T>(
  attempt: (n: number, signal: AbortSignal) => T | Promise<T>,
  options: Parameters<typeof retryBackoff>[1] = {},
) {
  const scheduler = new VirtualTimeScheduler();
  const starts: number[] = [];
  const promise = retryBackoff(
    ({ attempt: n, signal }) => {
      starts.push(scheduler.now());
      return attempt(n, signal);
    },
    { scheduler, ...options },
  );
  const settled = promise.then(
    (outcome) => ({ outcome, rejected: undefined as unknown }),
    (rejected: unknown) => ({ outcome: undefined, rejected }),
  );
  await advance(scheduler);
  return { ...(await settled), starts, scheduler };
}

describe('retryBackoff', () => {
  it('resolves with the value and attempts: 1 when the first attempt succeeds', async () => {
    const { outcome, starts } = await run(() => 'ok');
    expect(outcome).toEqual({ ok: true, value: 'ok', attempts: 1 });
    expect(starts).toEqual([0]);
  });

  it('waits random() · min(maxDelayMs, baseDelayMs · 2^(n−1)) before retry n (full jitter)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 5000 }),
        async (randoms, baseDelayMs, maxDelayMs) => {
          let r = 0;
          const delays: number[] = [];
          const { outcome, starts } = await run(
            (n) => {
              if (n <= randoms.length) throw http503();
              return n;
            },
            {
              maxAttempts: randoms.length + 1,
              baseDelayMs,
              maxDelayMs,
              random: () => randoms[r++]!,
              onRetry: ({ delayMs }) => delays.push(delayMs),
            },
          );
          expect(outcome).toEqual({ ok: true, value: randoms.length + 1, attempts: randoms.length + 1 });
          delays.forEach((delayMs, i) => {
            const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** i);
            expect(delayMs).toBeGreaterThanOrEqual(0);
            expect(delayMs).toBeLessThanOrEqual(ceiling);
            expect(delayMs).toBeCloseTo(randoms[i]! * ceiling, 9);
            // The wait really happens between the two attempts, on the injected clock.
            expect(starts[i + 1]! - starts[i]!).toBeCloseTo(delayMs, 9);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('honours Retry-After instead of the backoff, capped by maxRetryAfterMs', async () => {
    const errors = [http503(300), http503(5000)];
    const delays: number[] = [];
    const { outcome, starts } = await run(
      (n) => {
        if (n <= errors.length) throw errors[n - 1];
        return 'ok';
      },
      {
        baseDelayMs: 10,
        maxRetryAfterMs: 1500,
        random: () => 0.5,
        onRetry: ({ delayMs }) => delays.push(delayMs),
      },
    );
    expect(outcome).toMatchObject({ ok: true, attempts: 3 });
    expect(delays).toEqual([300, 1500]);
    expect(starts).toEqual([0, 300, 1800]);
  });

  it('does not retry an error that is not retryable, and returns it unchanged', async () => {
    const error = http400();
    const { outcome, starts } = await run(() => {
      throw error;
    });
    expect(outcome).toEqual({ ok: false, error, attempts: 1 });
    expect(starts).toHaveLength(1);
  });

  it('makes at most maxAttempts attempts, then returns the last error', async () => {
    const errors: Error[] = [];
    const { outcome } = await run(
      () => {
        errors.push(http503());
        throw errors.at(-1);
      },
      { maxAttempts: 3, baseDelayMs: 100 },
    );
    expect(errors).toHaveLength(3);
    expect(outcome).toEqual({ ok: false, error: errors[2], attempts: 3 });
  });

  it('retries whatever shouldRetry accepts, including TypeErrors and non-Error throws', async () => {
    const thrown: unknown[] = [new TypeError('socket hang up'), 'plain string'];
    const { outcome } = await run(
      (n) => {
        throw thrown[n - 1] ?? 'last';
      },
      { maxAttempts: 3, shouldRetry: () => true, baseDelayMs: 1 },
    );
    expect(outcome).toEqual({ ok: false, error: 'last', attempts: 3 });
  });

  it('stops when the next retry would start after maxRetryTimeMs', async () => {
    const { outcome, starts } = await run(
      () => {
        throw http503();
      },
      { maxAttempts: 10, baseDelayMs: 100, random: () => 1, maxRetryTimeMs: 1000 },
    );
    // Retries start at 100, 300, 700; the next would start at 1500 > 1000.
    expect(starts).toEqual([0, 100, 300, 700]);
    expect(outcome).toMatchObject({ ok: false, attempts: 4 });
  });

  it('says when the deadline (not maxAttempts) ended the retry', async () => {
    const { outcome } = await run(
      () => {
        throw http503();
      },
      { maxAttempts: 10, baseDelayMs: 100, random: () => 1, maxRetryTimeMs: 1000 },
    );
    expect(outcome).toMatchObject({ ok: false, deadlineExceeded: true });
    const { outcome: exhausted } = await run(
      () => {
        throw http503();
      },
      { maxAttempts: 2, baseDelayMs: 1 },
    );
    expect(exhausted).toEqual({ ok: false, error: expect.any(DifyApiError), attempts: 2 });
  });

  it('uncounted failures do not use up maxAttempts: backoff waits for them, now retries at once', async () => {
    const limited = new DifyApiError({ code: 'ERR_DIFY_RATE_LIMITED', message: '429', retryable: true });
    const waitedOut = http503();
    const plan = [limited, waitedOut, limited, waitedOut, http503(), 'done'] as const;
    const { outcome, starts } = await run(
      (n) => {
        const step = plan[n - 1]!;
        if (typeof step === 'string') return step;
        throw step;
      },
      {
        maxAttempts: 2,
        baseDelayMs: 100,
        random: () => 1,
        uncounted: (error) => (error === limited ? 'backoff' : error === waitedOut ? 'now' : false),
      },
    );
    // 6 attempts with maxAttempts 2: only the plain 503 counted. Waits: 100, 0, 400, 0, 1600.
    expect(outcome).toEqual({ ok: true, value: 'done', attempts: 6 });
    expect(starts).toEqual([0, 100, 100, 500, 500, 2100]);
  });

  it('cancels a backoff wait promptly on abort, with the reason, leaving no timer or listener', async () => {
    const controller = new AbortController();
    const reason = new Error('user pressed Ctrl-C');
    const scheduler = new VirtualTimeScheduler();
    scheduler.schedule(() => controller.abort(reason), 50);
    let attempts = 0;
    const promise = retryBackoff(
      () => {
        attempts++;
        throw http503();
      },
      { scheduler, signal: controller.signal, baseDelayMs: 10_000, random: () => 1 },
    );
    const settled = promise.catch((e: unknown) => e);
    await advance(scheduler);
    expect(await settled).toBe(reason);
    expect(scheduler.now()).toBe(50);
    expect(scheduler.actions).toHaveLength(0);
    expect(attempts).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects at once on abort even if the attempt ignores its signal, and aborts that signal', async () => {
    const controller = new AbortController();
    let attemptSignal: AbortSignal | undefined;
    const promise = retryBackoff(
      ({ signal }) => {
        attemptSignal = signal;
        return new Promise<never>(() => {}); // a call that never returns
      },
      { signal: controller.signal },
    );
    await Promise.resolve();
    await Promise.resolve();
    controller.abort('stop');
    await expect(promise).rejects.toBe('stop');
    expect(attemptSignal?.aborted).toBe(true);
    expect(attemptSignal?.reason).toBe('stop');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the reason before any attempt when the signal is already aborted', async () => {
    let called = false;
    const promise = retryBackoff(
      () => {
        called = true;
      },
      { signal: AbortSignal.abort('too late') },
    );
    await expect(promise).rejects.toBe('too late');
    expect(called).toBe(false);
  });

  it('passes the caller’s signal to every attempt and leaves no listener on it', async () => {
    const controller = new AbortController();
    const signals: AbortSignal[] = [];
    const { outcome } = await run(
      (n, signal) => {
        signals.push(signal);
        if (n < 3) throw http503();
        return 'ok';
      },
      { signal: controller.signal, baseDelayMs: 5 },
    );
    expect(outcome).toMatchObject({ ok: true, attempts: 3 });
    expect(signals).toEqual([controller.signal, controller.signal, controller.signal]);
    expect(signals.every((s) => !s.aborted)).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the hook’s error when onRetry throws, and stops retrying', async () => {
    const bug = new Error('progress bar bug');
    let attempts = 0;
    const { rejected } = await run(
      () => {
        attempts++;
        throw http503();
      },
      {
        onRetry: () => {
          throw bug;
        },
      },
    );
    expect(rejected).toBe(bug);
    expect(attempts).toBe(1);
  });

  it('counts a synchronous throw from the attempt as a failed attempt', async () => {
    const { outcome } = await run(() => {
      throw http400();
    });
    expect(outcome).toMatchObject({ ok: false, attempts: 1 });
  });

  it('rejects bad options with ERR_INVALID_OPTION', async () => {
    await expect(retryBackoff(() => 1, { maxAttempts: 0 })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: 'Expected `maxAttempts` to be an integer from 1 and up or `Infinity`, got `0` (number)',
    });
    await expect(retryBackoff(() => 1, { baseDelayMs: -1 })).rejects.toThrow(/`baseDelayMs`/);
    await expect(retryBackoff(() => 1, { random: 0.5 as unknown as () => number })).rejects.toThrow(
      /`random`/,
    );
    await expect(retryBackoff(() => 1, { signal: {} as AbortSignal })).rejects.toThrow(/`signal`/);
  });
});
