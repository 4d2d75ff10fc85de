import type { ItemResult } from '../core/ItemResult.js';
import type { ResultSink } from '../sinks/ResultSink.js';
import { type RunBatchOptions, runBatch } from './runBatch.js';

/** Options of {@link difyResults}: those of runBatch, without the sink. */
export type DifyResultsOptions = Omit<RunBatchOptions, 'sink' | 'closeSinks'>;

/**
 * The pipeline as an async iterable: `for await (const result of difyResults({...}))`.
 *
 * @remarks
 * Backpressure reaches the source: the sink behind this iterable accepts a batch only when the
 * consumer has taken it, so a slow `for await` body pauses reading. Breaking out of the loop aborts
 * the run (in-flight calls are cancelled). Fatal errors are thrown from the loop.
 * @category pipeline
 */
export async function* difyResults(options: DifyResultsOptions): AsyncGenerator<ItemResult, void, undefined> {
  let pending: { batch: readonly ItemResult[]; taken: () => void } | undefined;
  // The `taken` of the batch being yielded, so that a `break` in the middle of it can settle its write.
  let inHand: (() => void) | undefined;
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: { error: unknown } | undefined;
  const signalWake = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const sink: ResultSink = {
    write: (batch) =>
      new Promise<void>((resolve) => {
        pending = { batch, taken: resolve };
        signalWake();
      }),
    close: async () => {},
  };
  const stop = new AbortController();
  const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal]);
  const run = runBatch({ ...options, sink, signal }).then(
    () => {
      finished = true;
      signalWake();
    },
    (error: unknown) => {
      failure = { error };
      signalWake();
    },
  );
  try {
    while (true) {
      if (pending !== undefined) {
        const { batch, taken } = pending;
        pending = undefined;
        inHand = taken;
        yield* batch;
        inHand = undefined;
        taken();
        continue;
      }
      if (failure !== undefined) throw failure.error;
      if (finished) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    if (!finished && failure === undefined) {
      stop.abort(new DOMException('The consumer stopped iterating', 'AbortError'));
      // runBatch finishes the write in progress before it rejects; nobody will take that batch now.
      inHand?.();
      pending?.taken();
      await run;
    }
  }
}
