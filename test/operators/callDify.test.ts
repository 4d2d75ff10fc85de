import { getEventListeners } from 'node:events';
import { EMPTY, firstValueFrom, type Observable, of, take, toArray } from 'rxjs';
import type { RunHelpers } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { DifyApiError } from '../../src/core/DifyApiError.js';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import type { Item } from '../../src/core/Item.js';
import type { ItemResult } from '../../src/core/ItemResult.js';
import type { DifyCallOptions, DifyRequest, DifyResult } from '../../src/dify/DifyRequest.js';
import { CircuitBreaker } from '../../src/limits/CircuitBreaker.js';
import { TokenBucket } from '../../src/limits/TokenBucket.js';
import { type CallDifyOptions, callDify } from '../../src/operators/callDify.js';
import { runMarbles } from './virtualTime.js';

const item = (seq: number, extra: Partial<Item> = {}): Item => ({
  seq,
  id: `r${seq}`,
  inputs: { n: seq },
  ...extra,
});
const toRequest = (it: Item): DifyRequest => ({
  app: 'workflow',
  inputs: it.inputs,
  user: 'u',
  responseMode: 'blocking',
});
const answer = (seq: number): DifyResult => ({ outputs: { twice: seq * 2 }, workflowRunId: `run-${seq}` });
const success = (seq: number, latencyMs: number, attempts = 1): ItemResult => ({
  seq,
  id: `r${seq}`,
  ok: true,
  outputs: { twice: seq * 2 },
  workflowRunId: `run-${seq}`,
  attempts,
  latencyMs,
});
const http503 = () =>
  new DifyApiError({
    code: 'ERR_DIFY_HTTP',
    message: 'HTTP 503 from upstream',
    status: 503,
    retryable: true,
  });
const http400 = () =>
  new DifyApiError({
    code: 'ERR_DIFY_HTTP',
    message: 'inputs.n is required',
    status: 400,
    difyCode: 'invalid_param',
    retryable: false,
  });

/** A transport that answers the k-th call of item `seq` with `script[seq][k]`; records each call. */
function scripted(script: Record<number, Observable<DifyResult>[]>) {
  const calls: { seq: number; signal: AbortSignal | undefined }[] = [];
  const transport = (request: DifyRequest, options: DifyCallOptions) => {
    const seq = request.inputs.n as number;
    calls.push({ seq, signal: options.signal });
    const next = script[seq]?.shift();
    if (next === undefined) throw new Error(`unexpected call for seq ${seq}`);
    return next;
  };
  return { transport, calls };
}

const subs = (o: Observable<unknown>) => (o as ReturnType<RunHelpers['cold']>).subscriptions;

describe('callDify', () => {
  it('keeps at most `concurrency` calls in flight, starting the next as soon as any finishes', async () => {
    await runMarbles(({ cold, expectObservable, expectSubscriptions, scheduler }) => {
      const c = [
        cold('----r|', { r: answer(0) }),
        cold('--r|', { r: answer(1) }),
        cold('---r|', { r: answer(2) }),
        cold('-r|', { r: answer(3) }),
      ];
      const { transport } = scripted({ 0: [c[0]!], 1: [c[1]!], 2: [c[2]!], 3: [c[3]!] });
      const source = cold('(abcd|)', { a: item(0), b: item(1), c: item(2), d: item(3) });
      expectObservable(source.pipe(callDify(transport, { toRequest, concurrency: 2, scheduler }))).toBe(
        '--b-a(cd|)',
        { a: success(0, 4), b: success(1, 2), c: success(2, 3), d: success(3, 1) },
      );
      // A sliding window, not chunk-and-wait: call 2 starts when call 1 ends (2), call 3 when call 0 ends (4).
      expectSubscriptions(subs(c[0]!)).toBe('^---!');
      expectSubscriptions(subs(c[1]!)).toBe('^-!');
      expectSubscriptions(subs(c[2]!)).toBe('--^--!');
      expectSubscriptions(subs(c[3]!)).toBe('----^!');
    });
  });

  it('retries a retryable failure after the backoff, counting attempts and latency', async () => {
    await runMarbles(({ cold, expectObservable, expectSubscriptions, scheduler }) => {
      const first = cold<DifyResult>('-#', undefined, http503());
      const second = cold('-r|', { r: answer(0) });
      const { transport } = scripted({ 0: [first, second] });
      const retry = { baseDelayMs: 10, random: () => 1 };
      expectObservable(
        cold('a|', { a: item(0) }).pipe(callDify(transport, { toRequest, retry, scheduler })),
      ).toBe('12ms (x|)', { x: success(0, 12, 2) });
      expectSubscriptions(subs(first)).toBe('^!');
      expectSubscriptions(subs(second)).toBe('11ms ^!');
    });
  });

  it('takes a rate-limit token for every attempt, retries included', async () => {
    await runMarbles(({ cold, expectObservable, expectSubscriptions, scheduler }) => {
      const a1 = cold<DifyResult>('-#', undefined, http503());
      const a2 = cold('-r|', { r: answer(0) });
      const b1 = cold('-r|', { r: answer(1) });
      const { transport } = scripted({ 0: [a1, a2], 1: [b1] });
      const rateLimiter = new TokenBucket({ perSecond: 100, scheduler }); // a token every 10 ms
      const out = cold('(ab|)', { a: item(0), b: item(1) }).pipe(
        callDify(transport, {
          toRequest,
          rateLimiter,
          scheduler,
          concurrency: 4,
          retry: { random: () => 0 },
        }),
      );
      expectObservable(out).toBe('11ms y 9ms (x|)', { x: success(0, 21, 2), y: success(1, 11) });
      expectSubscriptions(subs(a1)).toBe('^!');
      expectSubscriptions(subs(b1)).toBe('10ms ^!');
      expectSubscriptions(subs(a2)).toBe('20ms ^!');
    });
  });

  it('turns a final failure into an ok:false result and keeps the stream going', async () => {
    await runMarbles(({ cold, expectObservable, scheduler }) => {
      const { transport } = scripted({
        0: [cold<DifyResult>('-#', undefined, http400())],
        1: [cold('--r|', { r: answer(1) })],
      });
      const out = cold('(ab|)', { a: item(0), b: item(1) }).pipe(
        callDify(transport, { toRequest, scheduler }),
      );
      expectObservable(out).toBe('-x(y|)', {
        x: {
          seq: 0,
          id: 'r0',
          ok: false,
          error: {
            code: 'ERR_DIFY_HTTP',
            message: 'inputs.n is required',
            status: 400,
            difyCode: 'invalid_param',
            retryable: false,
          },
          attempts: 1,
          latencyMs: 1,
        },
        y: success(1, 2),
      });
    });
  });

  it('gives up after maxAttempts with the last error', async () => {
    await runMarbles(({ cold, expectObservable, scheduler }) => {
      const failures = [0, 1, 2].map(() => cold<DifyResult>('-#', undefined, http503()));
      const { transport } = scripted({ 0: failures });
      const out = cold('a|', { a: item(0) }).pipe(
        callDify(transport, { toRequest, scheduler, retry: { maxAttempts: 3, random: () => 0 } }),
      );
      expectObservable(out).toBe('---(x|)', {
        x: {
          seq: 0,
          id: 'r0',
          ok: false,
          error: { code: 'ERR_DIFY_HTTP', message: 'HTTP 503 from upstream', status: 503, retryable: true },
          attempts: 3,
          latencyMs: 3,
        },
      });
    });
  });

  it('passes items with a source error straight through, attempts 0, without a call', async () => {
    const { transport, calls } = scripted({});
    const error = { code: 'ERR_SOURCE_PARSE', message: 'line 3: Unexpected token', retryable: false };
    const results = await firstValueFrom(
      of(item(0, { error })).pipe(callDify(transport, { toRequest }), toArray()),
    );
    expect(results).toEqual([{ seq: 0, id: 'r0', ok: false, error, attempts: 0, latencyMs: 0 }]);
    expect(calls).toHaveLength(0);
  });

  it('turns a throwing toRequest into ERR_INPUT_INVALID naming the record and field, without a call', async () => {
    const { transport, calls } = scripted({});
    const fieldError = Object.assign(new Error('must be a string'), { field: 'query' });
    const own = new DifyBatchError('ERR_INPUT_INVALID', 'record r1 (seq 1): field "inputs" is missing');
    const results = await firstValueFrom(
      of(item(0, { position: { line: 7 } }), item(1)).pipe(
        callDify(transport, {
          toRequest: (it) => {
            throw it.seq === 0 ? fieldError : own;
          },
        }),
        toArray(),
      ),
    );
    expect(results).toEqual([
      {
        seq: 0,
        id: 'r0',
        ok: false,
        error: {
          code: 'ERR_INPUT_INVALID',
          message: 'record r0 (seq 0, line 7): field "query": must be a string',
          retryable: false,
        },
        attempts: 0,
        latencyMs: 0,
      },
      {
        seq: 1,
        id: 'r1',
        ok: false,
        error: { code: 'ERR_INPUT_INVALID', message: own.message, retryable: false },
        attempts: 0,
        latencyMs: 0,
      },
    ]);
    expect(calls).toHaveLength(0);
  });

  it('treats a run that finished "failed" as ERR_DIFY_RUN_FAILED, retried only with retryFailedRuns', async () => {
    const failedRun = { outputs: {}, workflowRunId: 'wr-1', status: 'failed' };
    const once = async (retryFailedRuns: boolean) => {
      let calls = 0;
      const transport = async () => {
        calls++;
        return calls === 1 ? failedRun : answer(0);
      };
      const [result] = await firstValueFrom(
        of(item(0)).pipe(
          callDify(transport, { toRequest, retryFailedRuns, retry: { baseDelayMs: 0 } }),
          toArray(),
        ),
      );
      return { result, calls };
    };
    const final = await once(false);
    expect(final.calls).toBe(1);
    expect(final.result).toMatchObject({
      ok: false,
      attempts: 1,
      error: {
        code: 'ERR_DIFY_RUN_FAILED',
        message: 'workflow run wr-1 finished with status "failed"',
        retryable: false,
      },
    });
    const retried = await once(true);
    expect(retried.result).toMatchObject({ ok: true, attempts: 2 });
  });

  it('accepts a Promise transport and passes the item’s signal to each attempt', async () => {
    const signals: (AbortSignal | undefined)[] = [];
    const transport = async (request: DifyRequest, options: DifyCallOptions) => {
      signals.push(options.signal);
      if (signals.length === 1) throw http503();
      return answer(request.inputs.n as number);
    };
    const results = await firstValueFrom(
      of(item(5)).pipe(callDify(transport, { toRequest, retry: { baseDelayMs: 0 } }), toArray()),
    );
    expect(results).toMatchObject([{ seq: 5, ok: true, outputs: { twice: 10 }, attempts: 2 }]);
    expect(signals).toHaveLength(2);
    expect(signals[0]).toBe(signals[1]);
  });

  it('reports a transport that completes without a result as ERR_DIFY_BAD_RESPONSE', async () => {
    const results = await firstValueFrom(
      of(item(0)).pipe(
        callDify(() => EMPTY, { toRequest }),
        toArray(),
      ),
    );
    expect(results).toMatchObject([{ ok: false, attempts: 1, error: { code: 'ERR_DIFY_BAD_RESPONSE' } }]);
  });

  it('reports a transport that throws synchronously as an ok:false result', async () => {
    const transport = () => {
      throw new Error('bad URL');
    };
    const results = await firstValueFrom(of(item(0)).pipe(callDify(transport, { toRequest }), toArray()));
    expect(results).toMatchObject([
      { ok: false, attempts: 1, error: { code: 'ERR_INTERNAL', message: 'bad URL' } },
    ]);
  });

  it('errors with signal.reason and aborts in-flight calls when the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('shutdown');
    let recorded: ReturnType<typeof scripted>['calls'] = [];
    await runMarbles(({ cold, expectObservable, expectSubscriptions, scheduler }) => {
      const slow = cold('-----r|', { r: answer(0) });
      const { transport, calls } = scripted({ 0: [slow] });
      recorded = calls;
      scheduler.schedule(() => controller.abort(reason), 3);
      const out = cold('a-', { a: item(0) }).pipe(
        callDify(transport, { toRequest, scheduler, signal: controller.signal }),
      );
      expectObservable(out).toBe('---#', undefined, reason);
      expectSubscriptions(subs(slow)).toBe('^--!');
    });
    expect(recorded[0]?.signal?.aborted).toBe(true);
    expect(recorded[0]?.signal?.reason).toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('errors at once when the signal is already aborted', async () => {
    const { transport, calls } = scripted({});
    const outcome = firstValueFrom(
      of(item(0)).pipe(callDify(transport, { toRequest, signal: AbortSignal.abort('late') })),
    ).catch((e: unknown) => e);
    expect(await outcome).toBe('late');
    expect(calls).toHaveLength(0);
  });

  it('aborts in-flight calls and backoff waits on early unsubscribe, leaving no listener', async () => {
    const controller = new AbortController();
    let recorded: ReturnType<typeof scripted>['calls'] = [];
    let clock: { frame: number } = { frame: -1 };
    await runMarbles(({ cold, expectObservable, expectSubscriptions, scheduler }) => {
      clock = scheduler;
      const slow = cold('------r|', { r: answer(0) });
      const failing = cold<DifyResult>('-#', undefined, http503());
      const { transport, calls } = scripted({ 0: [slow], 1: [failing] });
      recorded = calls;
      const out = cold('(ab)', { a: item(0), b: item(1) }).pipe(
        callDify(transport, {
          toRequest,
          scheduler,
          signal: controller.signal,
          retry: { baseDelayMs: 100, random: () => 1 },
        }),
      );
      expectObservable(out, '^--!').toBe('');
      expectSubscriptions(subs(slow)).toBe('^--!');
      expectSubscriptions(subs(failing)).toBe('^!');
    });
    // Item 1 was waiting out its 100 ms backoff: had it not been cancelled the clock would reach 101.
    expect(clock.frame).toBe(3);
    // Both items were cancelled: each item's calls share one signal, aborted at teardown.
    expect(recorded.map((c) => c.signal?.aborted)).toEqual([true, true]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('forwards a source error and aborts in-flight calls', async () => {
    await runMarbles(({ cold, expectObservable, expectSubscriptions, scheduler }) => {
      const slow = cold('-----r|', { r: answer(0) });
      const { transport } = scripted({ 0: [slow] });
      const boom = new Error('source broke');
      const out = cold('a-#', { a: item(0) }, boom).pipe(callDify(transport, { toRequest, scheduler }));
      expectObservable(out).toBe('--#', undefined, boom);
      expectSubscriptions(subs(slow)).toBe('^-!');
    });
  });

  it('errors with the hook’s error when onAttempt throws, without retrying the item', async () => {
    const bug = new Error('progress bug');
    let calls = 0;
    const transport = async () => {
      calls++;
      return answer(0);
    };
    const outcome = firstValueFrom(
      of(item(0)).pipe(
        callDify(transport, {
          toRequest,
          onAttempt: () => {
            throw Object.assign(bug, { retryable: true });
          },
        }),
      ),
    ).catch((e: unknown) => e);
    expect(await outcome).toBe(bug);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(0);
  });

  it('calls onAttempt/onSettled once per call (balanced) and onRetry before each wait', async () => {
    const events: string[] = [];
    const hooks: Partial<CallDifyOptions<Record<string, unknown>>> = {
      onAttempt: ({ item: it, attempt }) => events.push(`attempt ${it.seq}#${attempt}`),
      onSettled: ({ item: it, attempt, ok }) => events.push(`settled ${it.seq}#${attempt} ${ok}`),
      onRetry: ({ item: it, attempt, delayMs }) => events.push(`retry ${it.seq}#${attempt} after ${delayMs}`),
    };
    let calls = 0;
    const transport = async () => {
      calls++;
      if (calls === 1) throw http503();
      return answer(0);
    };
    await firstValueFrom(
      of(item(0)).pipe(callDify(transport, { toRequest, retry: { baseDelayMs: 0 }, ...hooks }), toArray()),
    );
    expect(events).toEqual([
      'attempt 0#1',
      'settled 0#1 false',
      'retry 0#1 after 0',
      'attempt 0#2',
      'settled 0#2 true',
    ]);
  });

  it('stops calling after take and aborts what is in flight', async () => {
    const signals: AbortSignal[] = [];
    const transport = (request: DifyRequest, options: DifyCallOptions) => {
      signals.push(options.signal!);
      const seq = request.inputs.n as number;
      // Item 1 answers quickly; the others never do.
      return seq === 1 ? Promise.resolve(answer(1)) : new Promise<DifyResult>(() => {});
    };
    const source = of(...Array.from({ length: 10 }, (_, i) => item(i)));
    const results = await firstValueFrom(
      source.pipe(callDify(transport, { toRequest, concurrency: 3 }), take(1), toArray()),
    );
    expect(results).toMatchObject([{ seq: 1, ok: true }]);
    expect(signals.length).toBeLessThanOrEqual(4);
    // One run signal for all calls, aborted at teardown: the calls that never answered see it.
    expect(new Set(signals).size).toBe(1);
    expect(signals[0]!.aborted).toBe(true);
  });

  it('completes at once for an empty source, and keeps going on a never-completing one', async () => {
    await runMarbles(({ cold, hot, expectObservable, scheduler }) => {
      const { transport } = scripted({ 0: [cold('-r|', { r: answer(0) })] });
      expectObservable(EMPTY.pipe(callDify(transport, { toRequest, scheduler }))).toBe('|');
      const endless = hot('--a---', { a: item(0) }).pipe(callDify(transport, { toRequest, scheduler }));
      expectObservable(endless, '^-----!').toBe('---x', { x: success(0, 1) });
    });
  });

  it('errors at once on an answer no retry can fix (401), starting no new call and cancelling the rest', async () => {
    await runMarbles(({ cold, expectObservable, expectSubscriptions, scheduler }) => {
      const rejected = new DifyApiError({
        code: 'ERR_DIFY_AUTH',
        message: 'the API key was rejected (401 unauthorized: Access token is invalid)',
        status: 401,
        retryable: false,
      });
      const a = cold<DifyResult>('--#', undefined, rejected);
      const b = cold('-----r|', { r: answer(1) });
      const { transport, calls } = scripted({ 0: [a], 1: [b], 2: [cold('r|', { r: answer(2) })] });
      const source = cold('(abc|)', { a: item(0), b: item(1), c: item(2) });
      expectObservable(source.pipe(callDify(transport, { toRequest, concurrency: 2, scheduler }))).toBe(
        '--#',
        undefined,
        rejected,
      );
      expectSubscriptions(subs(b)).toBe('^-!');
      scheduler.schedule(() => expect(calls.map((c) => c.seq)).toEqual([0, 1]), 10);
    });
  });

  it('retries rate limits past maxAttempts: backpressure, not failure', async () => {
    await runMarbles(({ cold, expectObservable, scheduler }) => {
      const limited = () =>
        new DifyApiError({
          code: 'ERR_DIFY_RATE_LIMITED',
          message: 'Too many requests.',
          status: 429,
          retryable: true,
        });
      const { transport } = scripted({
        0: [
          cold<DifyResult>('#', undefined, limited()),
          cold<DifyResult>('#', undefined, limited()),
          cold('r|', { r: answer(0) }),
        ],
      });
      const retry = { maxAttempts: 1, baseDelayMs: 10, random: () => 1 };
      // Waits 10, then 20: attempts 3 with maxAttempts 1.
      expectObservable(
        cold('a|', { a: item(0) }).pipe(callDify(transport, { toRequest, retry, scheduler })),
      ).toBe('30ms (x|)', { x: success(0, 30, 3) });
    });
  });

  it('with a breaker, an outage is waited out: one probe, then the rest; failures it waited out do not count', async () => {
    await runMarbles(({ cold, expectObservable, expectSubscriptions, scheduler }) => {
      const refused = () =>
        new DifyApiError({
          code: 'ERR_DIFY_NETWORK',
          message: 'Network error before a response: ECONNREFUSED',
          retryable: true,
        });
      const a1 = cold<DifyResult>('-#', undefined, refused());
      const b1 = cold<DifyResult>('-#', undefined, refused());
      const b2 = cold('-r|', { r: answer(1) });
      const { transport } = scripted({ 0: [a1], 1: [b1, b2] });
      const breaker = new CircuitBreaker({ failureThreshold: 2, probeDelayMs: 10, scheduler });
      const out = cold('(ab|)', { a: item(0), b: item(1) }).pipe(
        callDify(transport, { toRequest, concurrency: 2, breaker, scheduler, retry: { maxAttempts: 1 } }),
      );
      // a's failure came first, before anything said "outage": it counts (maxAttempts 1, so final).
      // b's opened the breaker: free; b waits for the probe at 1 + 10 and succeeds on it.
      expectObservable(out).toBe('-a 10ms (b|)', {
        a: {
          seq: 0,
          id: 'r0',
          ok: false,
          error: {
            code: 'ERR_DIFY_NETWORK',
            message: 'Network error before a response: ECONNREFUSED',
            retryable: true,
          },
          attempts: 1,
          latencyMs: 1,
        },
        b: success(1, 12, 2),
      });
      expectSubscriptions(subs(b2)).toBe('11ms ^!');
    });
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    const transport = async () => answer(0);
    expect(() => callDify(transport, { toRequest, concurrency: 0 })).toThrow(/`concurrency`/);
    expect(() => callDify(transport, { toRequest: undefined as unknown as typeof toRequest })).toThrow(
      /`toRequest`/,
    );
    expect(() => callDify(transport, { toRequest, retry: { maxAttempts: 0 } })).toThrow(/`maxAttempts`/);
    expect(() => callDify(transport, { toRequest, rateLimiter: {} as TokenBucket })).toThrow(/`rateLimiter`/);
    expect(() => callDify(undefined as unknown as typeof transport, { toRequest })).toThrow(/`transport`/);
    expect(() => callDify(transport, { toRequest, concurrency: Number.POSITIVE_INFINITY })).not.toThrow();
  });
});
