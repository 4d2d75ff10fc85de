import fc from 'fast-check';
import { EMPTY, from, NEVER, Observable, of, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import { reorder } from '../../src/operators/reorder.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const s = (seq: number) => ({ seq });
const values = { a: s(0), b: s(1), c: s(2), d: s(3), e: s(4) };

function errorOf(run: (onError: (e: unknown) => void) => void): DifyBatchError {
  let caught: unknown;
  run((e) => {
    caught = e;
  });
  expect(caught).toBeInstanceOf(DifyBatchError);
  return caught as DifyBatchError;
}

describe('reorder', () => {
  it('emits each value as soon as every lower seq has been emitted', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const source = cold('-c-a---b---e---d-----|', values);
      expectObservable(source.pipe(reorder())).toBe('---a---(bc)----(de)--|', values);
    });
  });

  it('passes values through at once when they already arrive in order', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abc|', values).pipe(reorder())).toBe('abc|', values);
    });
  });

  it('starts from firstSeq for a resumed run', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-e-d---|', values).pipe(reorder({ firstSeq: 3 }))).toBe('---(de)|', values);
    });
  });

  it('asks a firstSeq function once, when the first value arrives', () => {
    let asked = 0;
    const firstSeq = (): number => {
      asked++;
      return 3;
    };
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-e-d---|', values).pipe(reorder({ firstSeq }))).toBe('---(de)|', values);
      expectObservable(cold('-|', values).pipe(reorder({ firstSeq }))).toBe('-|');
    });
    expect(asked).toBe(1);
  });

  it('errors when more than maxBuffered values are held', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const out = cold('-b-c-d-a|', values).pipe(reorder({ maxBuffered: 2 }));
      expectObservable(out).toBe('-----#', undefined, expect.objectContaining({ code: 'ERR_INTERNAL' }));
    });
    const error = errorOf((onError) =>
      of(s(1), s(2), s(3))
        .pipe(reorder({ maxBuffered: 2 }))
        .subscribe({ error: onError }),
    );
    expect(error.message).toBe('reorder: 3 values held waiting for seq 0, more than maxBuffered (2)');
  });

  it('errors on completion with a gap, naming the missing seq', () => {
    const error = errorOf((onError) => of(s(0), s(2), s(3)).pipe(reorder()).subscribe({ error: onError }));
    expect(error.code).toBe('ERR_INTERNAL');
    expect(error.message).toBe('reorder: the source completed without seq 1 (2 later values held)');
  });

  it('errors on a duplicate or an already-emitted seq', () => {
    expect(
      errorOf((onError) => of(s(1), s(1)).pipe(reorder()).subscribe({ error: onError })).message,
    ).toMatch(/seq 1 is a duplicate/);
    expect(
      errorOf((onError) => of(s(0), s(0)).pipe(reorder()).subscribe({ error: onError })).message,
    ).toMatch(/next expected: 1/);
    expect(errorOf((onError) => of(s(0.5)).pipe(reorder()).subscribe({ error: onError })).message).toMatch(
      /seq 0.5/,
    );
  });

  it('forwards a source error at once, dropping held values', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const boom = new Error('source failed');
      expectObservable(cold('-a-c-#', values, boom).pipe(reorder())).toBe('-a---#', values, boom);
    });
  });

  it('forwards an error thrown by a downstream callback', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const boom = new Error('consumer bug');
      const out = new Observable<unknown>((subscriber) =>
        cold('-b-a|', values)
          .pipe(reorder())
          .subscribe({
            next: (v) => {
              if (v.seq === 1) subscriber.error(boom);
              else subscriber.next(v);
            },
            complete: () => subscriber.complete(),
          }),
      );
      expectObservable(out).toBe('---(a#)', values, boom);
    });
  });

  it('unsubscribes from the source on early unsubscribe', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-b-a-c-d|', values);
      expectObservable(source.pipe(reorder()), '^----!').toBe('---(ab)', values);
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('stops a synchronous source after take', () => {
    const produced: number[] = [];
    const sync = new Observable<{ seq: number }>((subscriber) => {
      for (let i = 0; !subscriber.closed && i < 100; i++) {
        produced.push(i);
        subscriber.next(s(i ^ 1)); // pairs swapped: 1, 0, 3, 2, …
      }
    });
    const seen: number[] = [];
    sync.pipe(reorder(), take(3)).subscribe((v) => seen.push(v.seq));
    expect(seen).toEqual([0, 1, 2]);
    expect(produced).toEqual([0, 1, 2, 3]);
  });

  it('completes at once for an empty source', () => {
    newScheduler().run(({ expectObservable }) => {
      expectObservable(EMPTY.pipe(reorder())).toBe('|');
    });
  });

  it('never completes for a never-completing source, emitting what is in order', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      expectObservable(hot('-a-c-b-', values).pipe(reorder()), '^------!').toBe('-a---(bc)', values);
      expectObservable(NEVER.pipe(reorder())).toBe('');
    });
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    expect(() => reorder({ firstSeq: -1 })).toThrow(/`firstSeq`/);
    expect(() => reorder({ maxBuffered: 1.5 })).toThrow(/`maxBuffered`/);
  });
});

describe('reorder (ring)', () => {
  it('errors on a seq implausibly far ahead instead of allocating for it', () => {
    const error = errorOf((onError) =>
      of(s(1), s(2 ** 25))
        .pipe(reorder())
        .subscribe({ error: onError }),
    );
    expect(error.code).toBe('ERR_INTERNAL');
    expect(error.message).toMatch(/ahead of the next expected seq 0/);
  });

  it('restores any bounded shuffle to dense seq order, growing and wrapping its ring as needed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 1200 }),
        (firstSeq, count, spread, noise) => {
          // Each value is displaced by up to `spread` places: the ring must hold up to `spread` of them.
          const keys = Array.from({ length: count }, (_, i) => i + (noise[i % noise.length]! % spread));
          const order = Array.from({ length: count }, (_, i) => i).sort(
            (a, b) => keys[a]! - keys[b]! || a - b,
          );
          const seen: number[] = [];
          let completed = false;
          from(order.map((i) => ({ seq: firstSeq + i })))
            .pipe(reorder({ firstSeq }))
            .subscribe({ next: (v) => seen.push(v.seq), complete: () => (completed = true) });
          expect(seen).toEqual(Array.from({ length: count }, (_, i) => firstSeq + i));
          expect(completed).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
