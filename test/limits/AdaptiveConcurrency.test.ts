import { getEventListeners } from 'node:events';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency } from '../../src/limits/AdaptiveConcurrency.js';

describe('AdaptiveConcurrency', () => {
  it('admits calls up to the limit and queues the rest in FIFO order', async () => {
    const limit = new AdaptiveConcurrency({ max: 2 });
    await limit.acquire();
    await limit.acquire();
    const order: number[] = [];
    const third = limit.acquire().then(() => order.push(3));
    const fourth = limit.acquire().then(() => order.push(4));
    await Promise.resolve();
    expect(order).toEqual([]);
    limit.release('other');
    await third;
    limit.release('other');
    await fourth;
    expect(order).toEqual([3, 4]);
    expect(limit.inFlight).toBe(2);
  });

  it('halves on a rate limit once per generation: calls sent under the old limit do not count', async () => {
    const limit = new AdaptiveConcurrency({ max: 32 });
    const early = await Promise.all([limit.acquire(), limit.acquire(), limit.acquire()]);
    limit.release('rate-limited', early[0]);
    expect(limit.limit).toBe(16);
    limit.release('rate-limited', early[1]);
    limit.release('rate-limited', early[2]);
    expect(limit.limit).toBe(16);
    const late = await limit.acquire();
    limit.release('rate-limited', late);
    expect(limit.limit).toBe(8);
  });

  it('drops straight to a limit the server stated, and never grows above it again', async () => {
    const limit = new AdaptiveConcurrency({ max: 16 });
    const generation = await limit.acquire();
    limit.release('rate-limited', generation, 2);
    expect(limit.limit).toBe(2);
    expect(limit.decreases).toBe(1);
    for (let i = 0; i < 100; i++) limit.release('ok', await limit.acquire());
    expect(limit.limit).toBe(2);
    // A rejection at or under the stated limit (another client shares the app) halves as usual.
    limit.release('rate-limited', await limit.acquire(), 2);
    expect(limit.limit).toBe(1);
  });

  it('with a cooldown, halves at most once per cooldown, never below min', () => {
    const scheduler = new VirtualTimeScheduler();
    const limit = new AdaptiveConcurrency({ max: 32, min: 3, cooldownMs: 1000, scheduler });
    limit.release('rate-limited');
    expect(limit.limit).toBe(16);
    limit.release('rate-limited'); // same instant: within the cooldown
    expect(limit.limit).toBe(16);
    for (const t of [1000, 2000, 3000, 4000]) {
      scheduler.schedule(() => limit.release('rate-limited'), t);
    }
    scheduler.flush();
    expect(limit.limit).toBe(3);
    expect(limit.decreases).toBe(5);
  });

  it('grows back by about one per round of successes, up to max', () => {
    const limit = new AdaptiveConcurrency({ max: 8, initial: 4 });
    for (let i = 0; i < 4; i++) limit.release('ok');
    expect(limit.limit).toBe(4); // 4 + 4 × 1/4.x ≈ 4.9
    for (let i = 0; i < 6; i++) limit.release('ok');
    expect(limit.limit).toBe(6);
    for (let i = 0; i < 1000; i++) limit.release('ok');
    expect(limit.limit).toBe(8);
  });

  it('a waiter that aborts leaves the queue and rejects with the reason, no listener left', async () => {
    const limit = new AdaptiveConcurrency({ max: 1 });
    await limit.acquire();
    const controller = new AbortController();
    const waiting = limit.acquire(controller.signal);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    limit.release('ok');
    expect(limit.inFlight).toBe(0);
  });

  it('rejects bad options', () => {
    expect(() => new AdaptiveConcurrency({ max: 0 })).toThrow(/`max`/);
    expect(() => new AdaptiveConcurrency({ max: 4, min: 5 })).toThrow(/`min`/);
    expect(() => new AdaptiveConcurrency({ max: 4, decreaseFactor: 1 })).toThrow(/decreaseFactor/);
  });
});
