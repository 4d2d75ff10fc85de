import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { call, difyError, run, WORKFLOW_APP_ID } from './helpers.js';

let emulator: Emulator;
let base: string;

beforeAll(async () => {
  emulator = await startEmulator();
  base = emulator.url;
});
afterAll(() => emulator.close());
beforeEach(() => {
  emulator.configure({
    maxActiveRequests: 0,
    rateLimitRps: 0,
    rateLimitRetryAfter: false,
    rateLimitStartsFull: true,
    answerAsync: false,
    concurrencyLimitStatus: 400,
  });
  emulator.reset();
});

/** Starts `n` calls that hold their concurrency slot until aborted. */
async function holdSlots(n: number): Promise<{ release: () => Promise<void> }> {
  const controller = new AbortController();
  const pending = Array.from({ length: n }, (_, i) =>
    call(base, '/workflows/run', {
      body: { inputs: { id: `held-${i}`, __fault: 'stall' }, user: 'u' },
      signal: controller.signal,
    }).catch((error: unknown) => error),
  );
  await vi.waitFor(() => expect(emulator.stats().active).toBe(n));
  return {
    release: async () => {
      controller.abort();
      await Promise.all(pending);
      await vi.waitFor(() => expect(emulator.stats().active).toBe(0));
    },
  };
}

const LIMIT_MESSAGE = `Too many requests. Please try again later. The current maximum concurrent requests allowed for ${WORKFLOW_APP_ID} is 2.`;

describe('app concurrency limit', () => {
  it('answers 400 invalid_param (Dify’s code path) without Retry-After, counting only calls in flight', async () => {
    emulator.configure({ maxActiveRequests: 2 });
    const held = await holdSlots(2);
    const refused = await run(base, '/workflows/run', { inputs: { id: 'third' } });
    expect(refused.status).toBe(400);
    expect(refused.text).toBe(difyError('invalid_param', LIMIT_MESSAGE, 400));
    expect(refused.headers['retry-after']).toBeUndefined();
    // Refused calls take no slot: a burst of them changes nothing (each was in flight only while refused).
    await Promise.all(Array.from({ length: 5 }, () => run(base, '/workflows/run', { inputs: {} })));
    expect(emulator.stats()).toMatchObject({ active: 2, peakActive: 3, rejectedConcurrency: 6 });
    await held.release();
    expect((await run(base, '/workflows/run', { inputs: { id: 'after' } })).status).toBe(200);
  });

  it('answers 429 too_many_requests (Dify’s docs) when configured so', async () => {
    emulator.configure({ maxActiveRequests: 2, concurrencyLimitStatus: 429 });
    const held = await holdSlots(2);
    const refused = await run(base, '/workflows/run', { inputs: {} });
    expect(refused.status).toBe(429);
    expect(refused.text).toBe(difyError('too_many_requests', LIMIT_MESSAGE, 429));
    expect(refused.headers['retry-after']).toBeUndefined();
    await held.release();
  });

  it('holds the slot for a delayed answer until it has ended', async () => {
    emulator.configure({ maxActiveRequests: 1, latency: { kind: 'fixed', ms: 150 } });
    const first = run(base, '/workflows/run', { inputs: { id: 1 } });
    await vi.waitFor(() => expect(emulator.stats().active).toBe(1));
    expect((await run(base, '/workflows/run', { inputs: { id: 2 } })).status).toBe(400);
    expect((await first).status).toBe(200);
    expect((await run(base, '/workflows/run', { inputs: { id: 3 } })).status).toBe(200);
    emulator.configure({ latency: { kind: 'fixed', ms: 0 } });
  });
});

describe('rate limit', () => {
  it('a token bucket of rateLimitRps (starting full) answers the excess 429, without Retry-After by default', async () => {
    emulator.configure({ rateLimitRps: 2 });
    expect((await run(base, '/workflows/run', { inputs: { id: 1 } })).status).toBe(200);
    expect((await run(base, '/workflows/run', { inputs: { id: 2 } })).status).toBe(200);
    const limited = await run(base, '/workflows/run', { inputs: { id: 3 } });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeUndefined();
    expect(emulator.stats()).toMatchObject({ rejectedRateLimit: 1, byStatus: { 200: 2, 429: 1 } });
  });

  it('with rateLimitRetryAfter the excess 429 carries Retry-After in whole seconds', async () => {
    emulator.configure({ rateLimitRps: 2, rateLimitRetryAfter: true });
    expect((await run(base, '/workflows/run', { inputs: { id: 1 } })).status).toBe(200);
    expect((await run(base, '/workflows/run', { inputs: { id: 2 } })).status).toBe(200);
    const limited = await run(base, '/workflows/run', { inputs: { id: 3 } });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.text).toBe(
      difyError('too_many_requests', 'Too many requests. Please try again later.', 429),
    );
    expect(emulator.stats()).toMatchObject({ rejectedRateLimit: 1, byStatus: { 200: 2, 429: 1 } });
  });

  it('a slow rate gives a longer Retry-After', async () => {
    emulator.configure({ rateLimitRps: 0.25, rateLimitRetryAfter: true });
    expect((await run(base, '/workflows/run', { inputs: {} })).status).toBe(200);
    const limited = await run(base, '/workflows/run', { inputs: {} });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(3);
  });
});

describe('benchmark knobs', () => {
  it('rateLimitStartsFull: false starts (and resets) the bucket empty: the first call is refused', async () => {
    emulator.configure({ rateLimitRps: 5, rateLimitStartsFull: false });
    emulator.reset();
    expect((await run(base, '/workflows/run', { inputs: { id: 'first' } })).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await run(base, '/workflows/run', { inputs: { id: 'later' } })).status).toBe(200);
    emulator.reset();
    expect((await run(base, '/workflows/run', { inputs: { id: 'after-reset' } })).status).toBe(429);
  });

  it('answerAsync lets zero-latency calls overlap: the emulator sees them in flight together', async () => {
    const burst = (): Promise<unknown> =>
      Promise.all(
        Array.from({ length: 16 }, (_, i) => run(base, '/workflows/run', { inputs: { id: `b${i}` } })),
      );
    emulator.configure({ answerAsync: true });
    for (let i = 0; i < 5 && emulator.stats().peakActive < 2; i++) await burst();
    expect(emulator.stats().peakActive).toBeGreaterThan(1);
  });
});

describe('the concurrency limit in streaming workflow mode (Dify 1.13’s rate_limit_context bug)', () => {
  async function refusals(
    mode: 'blocking' | 'streaming',
    concurrent: number,
    limit: number,
  ): Promise<number> {
    emulator.configure({ maxActiveRequests: limit, latency: { kind: 'fixed', ms: 100 } });
    try {
      const answers = await Promise.all(
        Array.from({ length: concurrent }, (_, i) =>
          run(base, '/workflows/run', { inputs: { id: `${mode}-${i}` }, response_mode: mode }),
        ),
      );
      return answers.filter((a) => a.status === 400).length;
    } finally {
      emulator.configure({ latency: { kind: 'fixed', ms: 0 } });
    }
  }

  it('refuses streaming calls more often than blocking ones at the same concurrency', async () => {
    // Limit 2, two calls at once: blocking both run; streaming counts itself twice, so one is refused.
    expect(await refusals('blocking', 2, 2)).toBe(0);
    expect(await refusals('streaming', 2, 2)).toBe(1);
    // Limit 1: every streaming workflow call is refused (dify-api.md §5).
    expect(await refusals('streaming', 1, 1)).toBe(1);
  });

  it('frees a streaming call’s slot when its stream starts, not when the run ends', async () => {
    emulator.configure({ maxActiveRequests: 2, latency: { kind: 'fixed', ms: 400 } });
    try {
      const first = run(base, '/workflows/run', { inputs: { id: 's1' }, response_mode: 'streaming' });
      await new Promise((r) => setTimeout(r, 100));
      // The first run is still streaming, yet its slot is free again.
      const second = await run(base, '/workflows/run', { inputs: { id: 's2' }, response_mode: 'streaming' });
      expect(second.status).toBe(200);
      expect((await first).status).toBe(200);
    } finally {
      emulator.configure({ latency: { kind: 'fixed', ms: 0 } });
    }
  });
});
