import { EMPTY, map, merge, NEVER, of, Subject, take, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/limits/TokenBucket.js';
import { rateLimit } from '../../src/operators/rateLimit.js';
import { advance, runMarbles } from './virtualTime.js';

describe('rateLimit', () => {
  it('spaces values by the bucket’s interval, in order', async () => {
    await runMarbles(({ cold, expectObservable, scheduler }) => {
      const bucket = new TokenBucket({ perSecond: 100, scheduler }); // 10 ms
      expectObservable(cold('abcd|').pipe(rateLimit(bucket))).toBe('a 9ms b 9ms c 9ms (d|)');
    });
  });

  it('passes values through untouched when they are slower than the rate', async () => {
    await runMarbles(({ cold, expectObservable, scheduler }) => {
      const bucket = new TokenBucket({ perSecond: 100, scheduler });
      expectObservable(cold('a 20ms b 20ms |').pipe(rateLimit(bucket))).toBe('a 20ms b 20ms |');
    });
  });

  it('shares one limit between streams using the same bucket', async () => {
    await runMarbles(({ cold, expectObservable, scheduler }) => {
      const bucket = new TokenBucket({ perSecond: 100, scheduler });
      const left = cold('ab|').pipe(rateLimit(bucket));
      const right = cold('xy|').pipe(rateLimit(bucket));
      expectObservable(merge(left, right)).toBe('a 9ms x 9ms b 9ms (y|)');
    });
  });

  it('forwards a source error at once and withdraws the waiting values', async () => {
    let bucket: TokenBucket | undefined;
    await runMarbles(({ cold, expectObservable, scheduler }) => {
      bucket = new TokenBucket({ perSecond: 100, scheduler });
      expectObservable(cold('abc#').pipe(rateLimit(bucket))).toBe('a--#');
    });
    expect(bucket?.waiting).toBe(0);
  });

  it('withdraws every waiting value on early unsubscribe, leaving no timer', async () => {
    let bucket: TokenBucket | undefined;
    let testScheduler: VirtualTimeScheduler | undefined;
    await runMarbles(({ cold, expectObservable, expectSubscriptions, scheduler }) => {
      bucket = new TokenBucket({ perSecond: 100, scheduler });
      testScheduler = scheduler;
      const source = cold('abcdef|');
      expectObservable(source.pipe(rateLimit(bucket)), '^ 14ms !').toBe('a 9ms b');
      expectSubscriptions(source.subscriptions).toBe('^-----!'); // the source itself completes at 6
    });
    expect(bucket?.waiting).toBe(0);
    // Had c–f stayed queued, the bucket's timer would have run the clock on to frame 50.
    expect(testScheduler?.frame).toBe(15);
  });

  it('stops after take and releases the rest of a synchronous source', async () => {
    const scheduler = new VirtualTimeScheduler();
    const bucket = new TokenBucket({ perSecond: 100, scheduler });
    const seen: number[] = [];
    of(1, 2, 3, 4, 5)
      .pipe(rateLimit(bucket), take(2))
      .subscribe((v) => seen.push(v));
    await advance(scheduler);
    expect(seen).toEqual([1, 2]);
    expect(scheduler.now()).toBe(10);
    expect(bucket.waiting).toBe(0);
  });

  it('completes at once for an empty source and stays silent for a never-completing one', async () => {
    await runMarbles(({ expectObservable, scheduler }) => {
      const bucket = new TokenBucket({ perSecond: 1, scheduler });
      expectObservable(EMPTY.pipe(rateLimit(bucket))).toBe('|');
      expectObservable(NEVER.pipe(rateLimit(bucket))).toBe('');
    });
  });

  it('forwards an error thrown by a callback downstream and cleans up', async () => {
    let bucket: TokenBucket | undefined;
    await runMarbles(({ cold, expectObservable, scheduler }) => {
      bucket = new TokenBucket({ perSecond: 100, scheduler });
      const out = cold('abc|').pipe(
        rateLimit(bucket),
        map((v) => {
          if (v === 'b') throw new Error('consumer bug');
          return v;
        }),
      );
      expectObservable(out).toBe('a 9ms #', undefined, new Error('consumer bug'));
    });
    expect(bucket?.waiting).toBe(0);
  });

  it('rejects anything but a TokenBucket', () => {
    expect(() => rateLimit({ take: async () => {} } as unknown as TokenBucket)).toThrow(
      /`bucket`.*a TokenBucket/,
    );
  });
});

describe('rateLimit (one subscriber)', () => {
  it('passes a value synchronously when a token is free, and keeps order behind a waiting one', async () => {
    const scheduler = new VirtualTimeScheduler();
    const bucket = new TokenBucket({ perSecond: 1000, burst: 2, scheduler });
    const seen: string[] = [];
    const source = new Subject<string>();
    source.pipe(rateLimit(bucket)).subscribe((v) => seen.push(`${v}@${scheduler.now()}`));
    source.next('a');
    source.next('b');
    // Two tokens of burst: both passed in the same turn, without a Promise in between.
    expect(seen).toEqual(['a@0', 'b@0']);
    source.next('c');
    expect(seen).toEqual(['a@0', 'b@0']);
    expect(bucket.waiting).toBe(1);
    source.next('d');
    await advance(scheduler);
    expect(seen).toEqual(['a@0', 'b@0', 'c@1', 'd@2']);
  });
});
