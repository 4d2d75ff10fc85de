import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency } from '../../src/limits/AdaptiveConcurrency.js';

/**
 * A server admitting `serverLimit` calls at once and refusing the rest with the limit stated (Dify's
 * "… is N."), driven round by round: every call the limit admits is sent, then all are answered, in
 * `order`. Returns how many calls the server refused before `calls` succeeded.
 */
async function refusalsAgainst(
  limit: AdaptiveConcurrency,
  serverLimit: number,
  calls: number,
  successesFirst: boolean,
): Promise<number> {
  let done = 0;
  let refused = 0;
  while (done < calls) {
    const round: number[] = [];
    while (limit.inFlight < limit.limit) round.push(await limit.acquire());
    const answers = round.map((generation, i) => ({ generation, ok: i < serverLimit }));
    if (!successesFirst) answers.reverse();
    for (const { generation, ok } of answers) {
      if (ok) done++;
      else refused++;
      limit.release(ok ? 'ok' : 'rate-limited', generation, ok ? undefined : serverLimit);
    }
  }
  return refused;
}

describe('AdaptiveConcurrency', () => {
  it('admits calls up to the limit and queues the rest in FIFO order', async () => {
    const limit = new AdaptiveConcurrency({ max: 2, initial: 2 });
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
    const limit = new AdaptiveConcurrency({ max: 32, initial: 32 });
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
    const limit = new AdaptiveConcurrency({ max: 16, initial: 16 });
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
    const limit = new AdaptiveConcurrency({ max: 32, initial: 32, min: 3, cooldownMs: 1000, scheduler });
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

  it('after a rate limit, grows back by about one per round of successes, up to max', () => {
    const limit = new AdaptiveConcurrency({ max: 8, initial: 8 });
    limit.release('rate-limited');
    expect(limit.limit).toBe(4);
    for (let i = 0; i < 4; i++) limit.release('ok');
    expect(limit.limit).toBe(4); // 4 + 4 × 1/4.x ≈ 4.9
    for (let i = 0; i < 6; i++) limit.release('ok');
    expect(limit.limit).toBe(6);
    for (let i = 0; i < 1000; i++) limit.release('ok');
    expect(limit.limit).toBe(8);
  });

  it('starts slow: against a stated limit N, at most max(N, 4) calls are ever refused, then it holds at N', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 0, max: 48 }),
        fc.boolean(),
        async (serverLimit, extra, successesFirst) => {
          const limit = new AdaptiveConcurrency({ max: serverLimit + extra });
          const refused = await refusalsAgainst(limit, serverLimit, 20 * serverLimit, successesFirst);
          // The first round is 4 calls (or max); each later round at most doubles the one before.
          expect(refused).toBeLessThanOrEqual(Math.max(serverLimit, 4));
          expect(limit.limit).toBe(serverLimit);
        },
      ),
    );
    // Starting at max instead sends the whole burst into the limit: 28 of the first 32 refused.
    expect(await refusalsAgainst(new AdaptiveConcurrency({ max: 32, initial: 32 }), 4, 80, true)).toBe(28);
    expect(await refusalsAgainst(new AdaptiveConcurrency({ max: 32 }), 4, 80, true)).toBe(4);
  });

  it('slow start doubles per round of successes until the first rate-limit signal, then adds one per round', () => {
    const limit = new AdaptiveConcurrency({ max: 64 });
    expect(limit.limit).toBe(4);
    const rounds: number[] = [];
    for (let r = 0; r < 4; r++) {
      const size = limit.limit;
      for (let i = 0; i < size; i++) limit.release('ok');
      rounds.push(limit.limit);
    }
    expect(rounds).toEqual([8, 16, 32, 64]);
    limit.release('rate-limited'); // a 429 that states no limit: halve, then additive increase
    expect(limit.limit).toBe(32);
    for (let i = 0; i < 32; i++) limit.release('ok');
    expect(limit.limit).toBe(32); // 32 + 32 × 1/32.x ≈ 32.98
    limit.release('ok');
    expect(limit.limit).toBe(33);
  });

  it('holds at a stated limit through a busy period, probes one call above it after statedLimitMs', () => {
    const scheduler = new VirtualTimeScheduler();
    const limit = new AdaptiveConcurrency({ max: 16, initial: 16, statedLimitMs: 60_000, scheduler });
    limit.release('rate-limited', 0, 4);
    expect(limit.limit).toBe(4);
    const seen: number[] = [];
    // 59 s of successes: the stated limit holds.
    for (let t = 1000; t < 60_000; t += 1000) {
      scheduler.schedule(() => {
        for (let i = 0; i < 10; i++) limit.release('ok');
        seen.push(limit.limit);
      }, t);
    }
    scheduler.flush();
    expect(new Set(seen)).toEqual(new Set([4]));
    // Quiet for 60 s: the additive increase may go one above the stated limit…
    scheduler.schedule(() => {
      for (let i = 0; i < 5; i++) limit.release('ok');
      seen.push(limit.limit);
    }, 60_000);
    scheduler.flush();
    expect(seen.at(-1)).toBe(5);
    // …and the refusal of that probe brings it back to the limit, held for another period.
    scheduler.schedule(() => {
      limit.release('rate-limited', limit.decreases, 4);
      for (let i = 0; i < 50; i++) limit.release('ok');
      seen.push(limit.limit);
    }, 61_000);
    scheduler.flush();
    expect(seen.at(-1)).toBe(4);
    expect(limit.decreases).toBe(2);
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
    expect(() => new AdaptiveConcurrency({ max: 4, statedLimitMs: -1 })).toThrow(/statedLimitMs/);
  });
});
