import type { ResultSink } from '../../src/sinks/ResultSink.js';

/** A ResultSink that keeps results (or only counts them) and can be slow. */
export function memorySink<T>(
  options: { delayMs?: number; keep?: boolean; onWrite?: (batch: readonly T[]) => void } = {},
) {
  const results: T[] = [];
  const state = { written: 0, batches: 0, closed: false };
  const sink: ResultSink<T> = {
    write: async (batch) => {
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
