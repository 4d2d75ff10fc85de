import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency } from '../../src/limits/AdaptiveConcurrency.js';
import { TokenBucket } from '../../src/limits/TokenBucket.js';

describe('synchronous fast paths of the limits', () => {
  it('AdaptiveConcurrency.tryAcquire takes a free slot at once and refuses at the limit', () => {
    const limit = new AdaptiveConcurrency({ max: 2 });
    expect(limit.tryAcquire()).toBe(0);
    expect(limit.tryAcquire()).toBe(0);
    expect(limit.tryAcquire()).toBeUndefined();
    expect(limit.inFlight).toBe(2);
    limit.release('ok');
    expect(limit.tryAcquire()).toBe(0);
  });

  it('AdaptiveConcurrency.tryAcquire never overtakes a caller already waiting in acquire()', async () => {
    const limit = new AdaptiveConcurrency({ max: 1 });
    expect(limit.tryAcquire()).toBe(0);
    let waiterGot = false;
    const waiter = limit.acquire().then(() => {
      waiterGot = true;
    });
    // The release hands the slot to the waiter (FIFO); a synchronous try in between must not steal it.
    limit.release('ok');
    expect(limit.tryAcquire()).toBeUndefined();
    await waiter;
    expect(waiterGot).toBe(true);
    expect(limit.inFlight).toBe(1);
  });

  it('AdaptiveConcurrency.tryAcquire reports the generation after a decrease', () => {
    const limit = new AdaptiveConcurrency({ max: 8, initial: 8 });
    const generation = limit.tryAcquire()!;
    limit.release('rate-limited', generation);
    expect(limit.limit).toBe(4);
    expect(limit.tryAcquire()).toBe(1);
  });

  it('TokenBucket.tryTake takes a free token and refuses until the next is due', () => {
    const scheduler = new VirtualTimeScheduler();
    const bucket = new TokenBucket({ perSecond: 10, scheduler });
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    scheduler.schedule(() => {
      expect(bucket.tryTake()).toBe(true);
      expect(bucket.tryTake()).toBe(false);
    }, 100);
    scheduler.flush();
  });

  it('TokenBucket.tryTake never overtakes a caller already waiting in take()', () => {
    const scheduler = new VirtualTimeScheduler();
    const bucket = new TokenBucket({ perSecond: 10, scheduler });
    expect(bucket.tryTake()).toBe(true);
    void bucket.take();
    expect(bucket.waiting).toBe(1);
    // Just before the waiter's token is due, a try finds the waiter ahead of it: refused, and the waiter is served at 100.
    let tried: boolean | undefined;
    scheduler.schedule(() => {
      tried = bucket.tryTake();
    }, 99.5);
    scheduler.flush();
    expect(tried).toBe(false);
    expect(bucket.waiting).toBe(0);
  });
});
