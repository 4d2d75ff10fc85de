import { getEventListeners } from 'node:events';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/limits/TokenBucket.js';
import { advance } from '../operators/virtualTime.js';

/** Calls take() at each of `at` (virtual ms) and returns when each was granted. */
async function grants(bucket: TokenBucket, scheduler: VirtualTimeScheduler, at: number[]): Promise<number[]> {
  const granted: number[] = [];
  for (const [i, t] of at.entries()) {
    scheduler.schedule(() => {
      void bucket.take().then(() => {
        granted[i] = scheduler.now();
      });
    }, t);
  }
  await advance(scheduler);
  return granted;
}

describe('TokenBucket', () => {
  it('spaces takes evenly at 1/perSecond with the default burst of 1', async () => {
    const scheduler = new VirtualTimeScheduler();
    const bucket = new TokenBucket({ perSecond: 10, scheduler });
    expect(await grants(bucket, scheduler, [0, 0, 0, 0])).toEqual([0, 100, 200, 300]);
  });

  it('keeps the sustained rate when its timer fires late', async () => {
    // A scheduler whose every timer fires 3 ms late, as on a busy event loop.
    const scheduler = new VirtualTimeScheduler();
    const late = {
      now: () => scheduler.now(),
      schedule: (work: () => void, delay = 0) => scheduler.schedule(work, delay + 3),
    } as unknown as VirtualTimeScheduler;
    const bucket = new TokenBucket({ perSecond: 100, scheduler: late });
    const granted: number[] = [];
    for (let i = 0; i < 101; i++) void bucket.take().then(() => granted.push(scheduler.now()));
    await advance(scheduler);
    expect(granted).toHaveLength(101);
    // 100 intervals of 10 ms: the lateness must not add up (it would give 1300 ms).
    expect(granted.at(-1)!).toBeLessThanOrEqual(1003);
    // Catch-up is one token at a time, not a burst.
    const gaps = granted.slice(1).map((t, i) => t - granted[i]!);
    expect(gaps.filter((g) => g === 0).length).toBeLessThanOrEqual(1);
  });

  it('lets `burst` takes go back-to-back, then the sustained rate', async () => {
    const scheduler = new VirtualTimeScheduler();
    const bucket = new TokenBucket({ perSecond: 10, burst: 3, scheduler });
    expect(await grants(bucket, scheduler, [0, 0, 0, 0, 0])).toEqual([0, 0, 0, 100, 200]);
  });

  it('refills while idle, never beyond burst', async () => {
    const scheduler = new VirtualTimeScheduler();
    const bucket = new TokenBucket({ perSecond: 10, burst: 2, scheduler });
    expect(await grants(bucket, scheduler, [0, 1000, 1000, 1000])).toEqual([0, 1000, 1000, 1100]);
  });

  it('supports perMinute, fractional rates, and both rates at once', async () => {
    let scheduler = new VirtualTimeScheduler();
    expect(await grants(new TokenBucket({ perMinute: 120, scheduler }), scheduler, [0, 0, 0])).toEqual([
      0, 500, 1000,
    ]);
    scheduler = new VirtualTimeScheduler();
    const thirds = await grants(new TokenBucket({ perSecond: 3, scheduler }), scheduler, [0, 0, 0, 0]);
    expect(thirds[1]).toBeCloseTo(1000 / 3, 6);
    expect(thirds[3]).toBeCloseTo(1000, 6);
    scheduler = new VirtualTimeScheduler();
    const both = new TokenBucket({ perSecond: 10, perMinute: 30, burst: 2, scheduler });
    // per second: 2 now, then every 100 ms; per minute: 2 now, then every 2 s — the tighter one wins.
    expect(await grants(both, scheduler, [0, 0, 0, 0])).toEqual([0, 0, 2000, 4000]);
  });

  it('is FIFO: a caller arriving when a token is free never overtakes one already waiting', async () => {
    const scheduler = new VirtualTimeScheduler();
    const bucket = new TokenBucket({ perSecond: 10, scheduler });
    const order: string[] = [];
    // Scheduled first, so at frame 100 it runs before the bucket's own timer.
    scheduler.schedule(() => void bucket.take().then(() => order.push(`late@${scheduler.now()}`)), 100);
    await bucket.take();
    void bucket.take().then(() => order.push(`waiting@${scheduler.now()}`));
    await advance(scheduler);
    expect(order).toEqual(['waiting@100', 'late@200']);
  });

  it('on abort: rejects with the reason, leaves the queue, removes its listener, drops the idle timer', async () => {
    const scheduler = new VirtualTimeScheduler();
    const bucket = new TokenBucket({ perSecond: 1, scheduler });
    await bucket.take();
    const controller = new AbortController();
    const waiting = bucket.take(controller.signal);
    expect(bucket.waiting).toBe(1);
    expect(scheduler.actions).toHaveLength(1);
    controller.abort('cancelled');
    await expect(waiting).rejects.toBe('cancelled');
    expect(bucket.waiting).toBe(0);
    expect(scheduler.actions).toHaveLength(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('gives an aborted waiter’s turn to the next one', async () => {
    const scheduler = new VirtualTimeScheduler();
    const bucket = new TokenBucket({ perSecond: 10, scheduler });
    await bucket.take();
    const controller = new AbortController();
    const first = bucket.take(controller.signal).catch(() => 'aborted');
    let secondAt = -1;
    const granted = new AbortController();
    const second = bucket.take(granted.signal).then(() => {
      secondAt = scheduler.now();
    });
    scheduler.schedule(() => controller.abort(), 50);
    await advance(scheduler);
    await second;
    expect(await first).toBe('aborted');
    expect(secondAt).toBe(100);
    expect(getEventListeners(granted.signal, 'abort')).toHaveLength(0);
  });

  it('rejects at once when the signal is already aborted, without taking a token', async () => {
    const scheduler = new VirtualTimeScheduler();
    const bucket = new TokenBucket({ perSecond: 1, scheduler });
    await expect(bucket.take(AbortSignal.abort('no'))).rejects.toBe('no');
    await bucket.take(); // the token is still there
    expect(scheduler.now()).toBe(0);
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    expect(() => new TokenBucket({})).toThrow(
      'Expected `perSecond` to be a number greater than 0 (or set `perMinute`)',
    );
    expect(() => new TokenBucket({ perSecond: 0 })).toThrow(/`perSecond`.*`0` \(number\)/);
    expect(() => new TokenBucket({ perMinute: Number.POSITIVE_INFINITY })).toThrow(/`perMinute`/);
    expect(() => new TokenBucket({ perSecond: 1, burst: 0 })).toThrow(/`burst`/);
  });
});
