import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { concatMap, map, tap, timer, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DifyApiError } from '../../src/core/DifyApiError.js';
import type { Item } from '../../src/core/Item.js';
import type { ItemResult } from '../../src/core/ItemResult.js';
import type { DifyCallOptions, DifyRequest, DifyResult } from '../../src/dify/DifyRequest.js';
import { batch } from '../../src/operators/batch.js';
import { callDify } from '../../src/operators/callDify.js';
import { reorder } from '../../src/operators/reorder.js';
import { creditGate } from '../../src/pipeline/creditGate.js';
import { advance } from '../operators/virtualTime.js';

type Outcome = 'ok' | 'retry' | 'final';
interface ItemScript {
  readonly kind: 'call' | 'parseError' | 'badInput';
  /** What attempt k does (the last entry repeats): answer after `latency` virtual ms. */
  readonly attempts: readonly { readonly latency: number; readonly outcome: Outcome }[];
}
interface Case {
  readonly items: readonly ItemScript[];
  readonly windowExtra: number;
  readonly maxAttempts: number;
  readonly batchSize: number;
  readonly maxWaitMs: number;
  /** Virtual ms each sink write takes, used in turn: a consumer of random speed. */
  readonly sinkDelays: readonly number[];
}

const itemScript: fc.Arbitrary<ItemScript> = fc.record({
  kind: fc.constantFrom<ItemScript['kind']>('call', 'call', 'call', 'call', 'call', 'parseError', 'badInput'),
  attempts: fc.array(
    fc.record({
      latency: fc.integer({ min: 0, max: 20 }),
      outcome: fc.constantFrom<Outcome>('ok', 'ok', 'retry', 'final'),
    }),
    { minLength: 1, maxLength: 5 },
  ),
});

const caseArb: fc.Arbitrary<Case> = fc.record({
  items: fc.array(itemScript, { maxLength: 40 }),
  windowExtra: fc.integer({ min: 0, max: 12 }),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  batchSize: fc.integer({ min: 1, max: 6 }),
  maxWaitMs: fc.integer({ min: 1, max: 15 }),
  sinkDelays: fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 8 }),
});

/** What each item's result must be, latency aside: the spec of callDify, written independently. */
function expected(c: Case): Omit<ItemResult, 'latencyMs'>[] {
  return c.items.map((s, seq) => {
    const base = { seq, id: `r${seq}` };
    if (s.kind === 'parseError') return { ...base, ok: false, error: parseError(seq), attempts: 0 };
    if (s.kind === 'badInput') {
      const message = `record r${seq} (seq ${seq}): field "text": not a string`;
      return {
        ...base,
        ok: false,
        error: { code: 'ERR_INPUT_INVALID', message, retryable: false },
        attempts: 0,
      };
    }
    for (let k = 1; ; k++) {
      const { outcome } = s.attempts[Math.min(k, s.attempts.length) - 1]!;
      if (outcome === 'ok') return { ...base, ok: true, outputs: { seq, k }, attempts: k };
      if (outcome === 'final' || k === c.maxAttempts) {
        const status = outcome === 'final' ? 400 : 503;
        const error = {
          code: 'ERR_DIFY_HTTP',
          message: `HTTP ${status}`,
          status,
          retryable: outcome === 'retry',
        };
        return { ...base, ok: false, error, attempts: k };
      }
    }
  });
}

const parseError = (seq: number) => ({
  code: 'ERR_SOURCE_PARSE',
  message: `line ${seq + 1}: bad JSON`,
  retryable: false,
});

interface RunOptions {
  readonly concurrency: number;
  /** Hard abort of the calls (callDify's signal) at this virtual time. */
  readonly abortAt?: number | undefined;
  /** Stop reading (creditGate's signal) at this virtual time; what was read still drains. */
  readonly drainAt?: number | undefined;
}

/** creditGate → callDify → reorder → batch → a sink that releases credits, all on virtual time. */
async function runPipeline(c: Case, { concurrency, abortAt, drainAt }: RunOptions) {
  const scheduler = new VirtualTimeScheduler();
  const window = concurrency + c.windowExtra;
  const abort = new AbortController();
  const drain = new AbortController();
  const reason = new Error('hard stop');
  if (abortAt !== undefined) scheduler.schedule(() => abort.abort(reason), abortAt);
  if (drainAt !== undefined) scheduler.schedule(() => drain.abort(), drainAt);

  const stats = {
    inFlight: 0,
    maxInFlight: 0,
    maxOutstanding: 0,
    released: 0,
    sourceClosed: false,
    hookBalance: 0,
  };
  const violations: string[] = [];
  const attemptsBySeq = new Map<number, number>();

  async function* source(): AsyncGenerator<Item> {
    try {
      for (const [seq, s] of c.items.entries()) {
        // Asked for item `seq` while `seq − released` items are outstanding: must be below window.
        if (seq - stats.released >= window)
          violations.push(`read item ${seq} with ${seq - stats.released} outstanding`);
        yield {
          seq,
          id: `r${seq}`,
          inputs: { kind: s.kind },
          ...(s.kind === 'parseError' ? { error: parseError(seq) } : {}),
        };
      }
    } finally {
      stats.sourceClosed = true;
    }
  }

  const transport = (request: DifyRequest, options: DifyCallOptions): Promise<DifyResult> => {
    const seq = request.inputs.seq as number;
    const k = (attemptsBySeq.get(seq) ?? 0) + 1;
    attemptsBySeq.set(seq, k);
    const script = c.items[seq]!.attempts;
    const { latency, outcome } = script[Math.min(k, script.length) - 1]!;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    return new Promise<DifyResult>((resolve, reject) => {
      const signal = options.signal!;
      const onAbort = () => {
        action.unsubscribe();
        stats.inFlight--;
        reject(signal.reason);
      };
      const action = scheduler.schedule(() => {
        // A hard abort must cancel every call in flight at that instant: none may finish later.
        if (abort.signal.aborted) violations.push(`call for seq ${seq} finished after the abort`);
        signal.removeEventListener('abort', onAbort);
        stats.inFlight--;
        if (outcome === 'ok') resolve({ outputs: { seq, k } });
        else {
          const status = outcome === 'final' ? 400 : 503;
          reject(
            new DifyApiError({
              code: 'ERR_DIFY_HTTP',
              message: `HTTP ${status}`,
              status,
              retryable: outcome === 'retry',
            }),
          );
        }
      }, latency);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  };

  const gate = creditGate(source(), { window, signal: drain.signal });
  const checkOutstanding = () => {
    stats.maxOutstanding = Math.max(stats.maxOutstanding, gate.outstanding);
    if (gate.outstanding > window) violations.push(`outstanding ${gate.outstanding} > window ${window}`);
  };
  const batches: ItemResult[][] = [];
  let writes = 0;
  const end: { completed: boolean; error: unknown } = { completed: false, error: undefined };
  gate.items
    .pipe(
      tap(checkOutstanding),
      callDify((request, options) => transport({ ...request, inputs: { ...request.inputs } }, options), {
        concurrency,
        scheduler,
        signal: abort.signal,
        retry: { maxAttempts: c.maxAttempts, baseDelayMs: 4, random: () => 0.5 },
        toRequest: (item) => {
          if (item.inputs.kind === 'badInput')
            throw Object.assign(new Error('not a string'), { field: 'text' });
          return { app: 'workflow', inputs: { seq: item.seq }, user: 'u', responseMode: 'blocking' };
        },
        onAttempt: () => stats.hookBalance++,
        onSettled: () => stats.hookBalance--,
      }),
      reorder({ maxBuffered: window }),
      batch({ size: c.batchSize, maxWaitMs: c.maxWaitMs, scheduler }),
      concatMap((results) =>
        timer(c.sinkDelays[writes++ % c.sinkDelays.length]!, scheduler).pipe(
          map(() => {
            batches.push(results);
            stats.released += results.length;
            gate.release(results.length);
            checkOutstanding();
          }),
        ),
      ),
    )
    .subscribe({
      error: (error: unknown) => {
        end.error = error;
      },
      complete: () => {
        end.completed = true;
      },
    });
  await advance(scheduler, 1_000_000);
  return { batches, end, stats, violations, window, gate, reason, abort, drain, attemptsBySeq };
}

/** A case, a concurrency, and the virtual time at which to stop it. */
const stopArb = fc.record({
  c: caseArb,
  concurrency: fc.integer({ min: 1, max: 8 }),
  at: fc.integer({ min: 0, max: 120 }),
});

const withoutLatency = (results: readonly ItemResult[]) => results.map(({ latencyMs: _, ...rest }) => rest);

describe('operators pipeline (property)', () => {
  it('gives exactly one correct result per input, in order, within every bound, at any concurrency', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, fc.integer({ min: 1, max: 8 }), async (c, concurrency) => {
        const run = await runPipeline(c, { concurrency });
        expect(run.violations).toEqual([]);
        expect(run.end).toEqual({ completed: true, error: undefined });
        const results = run.batches.flat();
        // Exactly one result per input, seq strictly increasing, each as the spec says.
        expect(results.map((r) => r.seq)).toEqual(c.items.map((_, i) => i));
        expect(withoutLatency(results)).toEqual(expected(c));
        // Bounds: in flight ≤ concurrency, outstanding ≤ window, attempts ≤ maxAttempts, batch sizes.
        expect(run.stats.maxInFlight).toBeLessThanOrEqual(concurrency);
        expect(run.stats.maxOutstanding).toBeLessThanOrEqual(run.window);
        for (const r of results) expect(r.attempts).toBeLessThanOrEqual(c.maxAttempts);
        for (const n of run.attemptsBySeq.values()) expect(n).toBeLessThanOrEqual(c.maxAttempts);
        for (const b of run.batches) {
          expect(b.length).toBeGreaterThan(0);
          expect(b.length).toBeLessThanOrEqual(c.batchSize);
        }
        expect(run.stats.inFlight).toBe(0);
        expect(run.stats.hookBalance).toBe(0);
        expect(run.gate.outstanding).toBe(0);
      }),
      { numRuns: 120 },
    );
  });

  it('gives the same results at concurrency 1 and 64', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const one = await runPipeline(c, { concurrency: 1 });
        const many = await runPipeline(c, { concurrency: 64 });
        expect(withoutLatency(many.batches.flat())).toEqual(withoutLatency(one.batches.flat()));
        expect(one.stats.maxInFlight).toBeLessThanOrEqual(1);
        expect(many.stats.maxInFlight).toBeLessThanOrEqual(64);
      }),
      { numRuns: 60 },
    );
  });

  it('on a hard abort: errors with the reason, emitted results are a correct ordered prefix, nothing left running', async () => {
    await fc.assert(
      fc.asyncProperty(stopArb, async ({ c, concurrency, at }) => {
        const run = await runPipeline(c, { concurrency, abortAt: at });
        expect(run.violations).toEqual([]);
        const results = run.batches.flat();
        if (run.end.completed) {
          expect(results).toHaveLength(c.items.length);
        } else {
          expect(run.end.error).toBe(run.reason);
          expect(run.stats.sourceClosed || c.items.length === 0).toBe(true);
        }
        expect(results.map((r) => r.seq)).toEqual(results.map((_, i) => i));
        expect(withoutLatency(results)).toEqual(expected(c).slice(0, results.length));
        expect(run.stats.inFlight).toBe(0);
        expect(run.stats.hookBalance).toBe(0);
        expect(getEventListeners(run.abort.signal, 'abort')).toHaveLength(0);
        expect(getEventListeners(run.drain.signal, 'abort')).toHaveLength(0);
      }),
      { numRuns: 80 },
    );
  });

  it('on a drain (stop reading): every item read still gets exactly one result, then the run completes', async () => {
    await fc.assert(
      fc.asyncProperty(stopArb, async ({ c, concurrency, at }) => {
        const run = await runPipeline(c, { concurrency, drainAt: at });
        expect(run.violations).toEqual([]);
        expect(run.end).toEqual({ completed: true, error: undefined });
        const results = run.batches.flat();
        expect(results).toHaveLength(run.gate.pulled);
        expect(withoutLatency(results)).toEqual(expected(c).slice(0, run.gate.pulled));
        expect(run.stats.sourceClosed || c.items.length === 0).toBe(true);
      }),
      { numRuns: 80 },
    );
  });
});
