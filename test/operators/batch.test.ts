import { EMPTY, map, NEVER, Observable, of, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import { batch } from '../../src/operators/batch.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('batch', () => {
  it('emits a batch as soon as size is reached', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const source = cold('-a-b-c-d-e|');
      expectObservable(source.pipe(batch({ size: 2 }))).toBe('---x---y--(z|)', {
        x: ['a', 'b'],
        y: ['c', 'd'],
        z: ['e'],
      });
    });
  });

  it('flushes a partial batch maxWaitMs after its first value', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('a 1ms b 20ms c 1ms d 100ms |');
      // a at 0 starts the timer → flush at 10; c at 23 starts a new one → flush at 33.
      expectObservable(source.pipe(batch({ size: 5, maxWaitMs: 10, scheduler }))).toBe(
        '10ms x 22ms y 92ms |',
        { x: ['a', 'b'], y: ['c', 'd'] },
      );
    });
  });

  it('flushes on size before maxWaitMs, and the next batch gets a fresh timer', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc 5ms d 20ms |');
      // a,b,c at 0–2 fill the batch; d at 8 starts a fresh timer → flush at 18.
      expectObservable(source.pipe(batch({ size: 3, maxWaitMs: 10 }))).toBe('--x 15ms y 10ms |', {
        x: ['a', 'b', 'c'],
        y: ['d'],
      });
    });
  });

  it('never emits an empty batch while the source idles', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const source = cold('100ms a 100ms |');
      expectObservable(source.pipe(batch({ size: 3, maxWaitMs: 10 }))).toBe('100ms 10ms x 90ms |', {
        x: ['a'],
      });
    });
  });

  it('flushes the partial batch on completion', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-a-b|').pipe(batch({ size: 10 }))).toBe('----(x|)', { x: ['a', 'b'] });
    });
  });

  it('errors without emitting the partial batch when the source errors', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const error = new DifyBatchError('ERR_SOURCE_READ', 'disk gone');
      expectObservable(cold('-a-b-c-#', undefined, error).pipe(batch({ size: 2, maxWaitMs: 100 }))).toBe(
        '---x---#',
        { x: ['a', 'b'] },
        error,
      );
    });
  });

  it('cancels the timer and the source on early unsubscribe', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d|');
      expectObservable(source.pipe(batch({ size: 10, maxWaitMs: 50, scheduler })), '^--!').toBe('');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
    // The 50 ms timer started by `a` would have run the clock to frame 51 had it not been cancelled.
    expect(scheduler.frame).toBe(3);
  });

  it('stops a synchronous source after take', () => {
    const produced: number[] = [];
    const sync = new Observable<number>((subscriber) => {
      for (let i = 0; !subscriber.closed && i < 100; i++) {
        produced.push(i);
        subscriber.next(i);
      }
    });
    const seen: number[][] = [];
    sync.pipe(batch({ size: 2 }), take(2)).subscribe((b) => seen.push(b));
    expect(seen).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(produced).toEqual([0, 1, 2, 3]);
  });

  it('completes without a batch for an empty source', () => {
    const seen: unknown[] = [];
    let completed = false;
    EMPTY.pipe(batch({ size: 3, maxWaitMs: 10 })).subscribe({
      next: (b) => seen.push(b),
      complete: () => {
        completed = true;
      },
    });
    expect(seen).toEqual([]);
    expect(completed).toBe(true);
  });

  it('keeps emitting time-bounded batches from a never-completing source', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const source = hot('-a--b 30ms c-');
      expectObservable(source.pipe(batch({ size: 5, maxWaitMs: 10 })), '^ 60ms !').toBe('11ms x 33ms y', {
        x: ['a', 'b'],
        y: ['c'],
      });
    });
    let emitted = false;
    const sub = NEVER.pipe(batch({ size: 1 })).subscribe(() => {
      emitted = true;
    });
    sub.unsubscribe();
    expect(emitted).toBe(false);
  });

  it('unsubscribes from the source when a callback downstream throws on a timed flush', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const boom = new Error('consumer bug');
      const source = cold('-a 30ms |');
      const out = source.pipe(
        batch({ size: 5, maxWaitMs: 10, scheduler }),
        map(() => {
          throw boom;
        }),
      );
      expectObservable(out).toBe('11ms #', undefined, boom);
      expectSubscriptions(source.subscriptions).toBe('^ 10ms !');
    });
  });

  it('treats size: Infinity as "flush on time and on completion only"', () => {
    const seen: number[][] = [];
    of(1, 2, 3)
      .pipe(batch({ size: Number.POSITIVE_INFINITY }))
      .subscribe((b) => seen.push(b));
    expect(seen).toEqual([[1, 2, 3]]);
  });

  it('rejects bad options with ERR_INVALID_OPTION quoting the value', () => {
    expect(() => batch({ size: 0 })).toThrow(
      'Expected `size` to be an integer from 1 and up or `Infinity`, got `0` (number)',
    );
    expect(() => batch({ size: 1.5 })).toThrow(/`size`/);
    expect(() => batch({ size: 2, maxWaitMs: -1 })).toThrow(/`maxWaitMs`.*`-1` \(number\)/);
    expect(() => batch({ size: 2, maxWaitMs: Number.NaN })).toThrow(/`maxWaitMs`/);
    try {
      batch({ size: '3' as unknown as number });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DifyBatchError);
      expect((error as DifyBatchError).code).toBe('ERR_INVALID_OPTION');
    }
  });
});
