import { firstValueFrom, Observable, of, Subject, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/Item.js';
import type { ItemResult } from '../../src/core/ItemResult.js';
import type { DifyCallOptions, DifyRequest, DifyResult } from '../../src/dify/DifyRequest.js';
import { AdaptiveConcurrency } from '../../src/limits/AdaptiveConcurrency.js';
import { CircuitBreaker } from '../../src/limits/CircuitBreaker.js';
import { TokenBucket } from '../../src/limits/TokenBucket.js';
import { callDify } from '../../src/operators/callDify.js';

const item = (seq: number): Item => ({ seq, id: `r${seq}`, inputs: { n: seq } });
const toRequest = (it: Item): DifyRequest => ({
  app: 'workflow',
  inputs: it.inputs,
  user: 'u',
  responseMode: 'blocking',
});

describe('callDify hot path', () => {
  it('calls the transport in the same turn as the item arrives when breaker, adaptive limit and bucket are free', async () => {
    const requests: number[] = [];
    const transport = (request: DifyRequest): Promise<DifyResult> => {
      requests.push(request.inputs.n as number);
      return Promise.resolve({ outputs: { n: request.inputs.n } });
    };
    const adaptive = new AdaptiveConcurrency({ max: 4 });
    const items = new Subject<Item>();
    const results: ItemResult[] = [];
    items
      .pipe(
        callDify(transport, {
          toRequest,
          concurrency: 4,
          adaptive,
          breaker: new CircuitBreaker(),
          rateLimiter: new TokenBucket({ perSecond: 1000, burst: 10 }),
        }),
      )
      .subscribe((r) => results.push(r));
    items.next(item(0));
    // No await in between: the call went out synchronously (no Promise before the transport's own).
    expect(requests).toEqual([0]);
    expect(adaptive.inFlight).toBe(1);
    items.next(item(1));
    expect(requests).toEqual([0, 1]);
    items.complete();
    await new Promise((resolve) => setImmediate(resolve));
    expect(results.map((r) => [r.seq, r.ok])).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(adaptive.inFlight).toBe(0);
  });

  it('starts the next waiting item synchronously when a call settles, before its result goes downstream', async () => {
    const resolvers: ((r: DifyResult) => void)[] = [];
    const started: number[] = [];
    const transport = (request: DifyRequest) =>
      new Promise<DifyResult>((resolve) => {
        started.push(request.inputs.n as number);
        resolvers.push(resolve);
      });
    const items = new Subject<Item>();
    items.pipe(callDify(transport, { toRequest, concurrency: 2 })).subscribe(() => {
      // Emitted in the settle handler: the freed slot's next item is already on its way.
      seenAtEmit.push(started.length);
    });
    const seenAtEmit: number[] = [];
    for (let i = 0; i < 4; i++) items.next(item(i));
    expect(started).toEqual([0, 1]);
    resolvers[0]!({ outputs: {} });
    await Promise.resolve();
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    expect(seenAtEmit).toEqual([3]);
  });

  it('on teardown settles every call in flight at once, even when the transport ignores its signal', async () => {
    let attempts = 0;
    let settled = 0;
    const errors: unknown[] = [];
    const adaptive = new AdaptiveConcurrency({ max: 3 });
    // Never answers and never looks at its signal.
    const transport = (_request: DifyRequest, _options: DifyCallOptions) => new Promise<DifyResult>(() => {});
    const source = new Subject<Item>();
    const subscription = source
      .pipe(
        callDify(transport, {
          toRequest,
          concurrency: 3,
          adaptive,
          onAttempt: () => attempts++,
          onSettled: ({ error }) => {
            settled++;
            errors.push(error);
          },
        }),
      )
      .subscribe();
    for (let i = 0; i < 5; i++) source.next(item(i));
    expect(attempts).toBe(3);
    expect(adaptive.inFlight).toBe(3);
    subscription.unsubscribe();
    expect(settled).toBe(3);
    expect(adaptive.inFlight).toBe(0);
    expect(errors.map((e) => (e as { code?: unknown }).code)).toEqual([
      'ERR_ABORTED',
      'ERR_ABORTED',
      'ERR_ABORTED',
    ]);
  });

  it('stops a synchronous source after a downstream take', async () => {
    let pulled = 0;
    const endless = new Observable<Item>((subscriber) => {
      for (let seq = 0; !subscriber.closed && seq < 1_000_000; seq++) {
        pulled++;
        subscriber.next(item(seq));
      }
    });
    // Answers synchronously, so the first result closes the output while the source is still emitting.
    const transport = (request: DifyRequest) => of<DifyResult>({ outputs: { n: request.inputs.n } });
    const results = await firstValueFrom(
      endless.pipe(callDify(transport, { toRequest, concurrency: 2 }), take(1), toArray()),
    );
    expect(results).toMatchObject([{ seq: 0, ok: true }]);
    expect(pulled).toBe(1);
  });
});
