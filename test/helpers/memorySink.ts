import type { ResultSink } from '../../src/sinks/ResultSink.js';

/**
 * A ResultSink that keeps results (or only counts them) and can be slow. With `aheadOf` (a source's
 * pull counter) it records in `state.maxAhead` the most records read but not yet written.
 */
export function memorySink<T>(
  options: {
    delayMs?: number;
    keep?: boolean;
    aheadOf?: { readonly pulled: number };
    onWrite?: (batch: readonly T[]) => void;
  } = {},
) {
  const results: T[] = [];
  const state = { written: 0, batches: 0, closed: false, maxAhead: 0 };
  const sink: ResultSink<T> = {
    write: async (batch) => {
      if (options.aheadOf !== undefined) {
        state.maxAhead = Math.max(state.maxAhead, options.aheadOf.pulled - state.written);
      }
      options.onWrite?.(batch);
      if (options.delayMs !== undefined) await new Promise((r) => setTimeout(r, options.delayMs));
      if (options.keep !== false) results.push(...batch);
      state.written += batch.length;
      state.batches++;
    },
    close: async () => {
      state.closed = true;
    },
  };
  return { sink, results, state };
}
