import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { ItemResult } from '../../src/core/ItemResult.js';
import type { DifyTransport } from '../../src/dify/DifyRequest.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import { fromAsyncIterable } from '../../src/sources/fromAsyncIterable.js';
import { countingRecords } from '../helpers/fakeTransport.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const heapMb = (): number => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

describe('runBatch memory', () => {
  it('stays flat over 1,000,000 items behind a slow sink, reading at most `window` ahead', async () => {
    const total = 1_000_000;
    const window = 256;
    const transport: DifyTransport = async (request) => ({ outputs: { echo: request.inputs.n } });
    const { records, state: source } = countingRecords(total);
    let written = 0;
    let maxAhead = 0;
    let batches = 0;
    let nextSeq = 0;
    let inOrder = true;
    const samples: number[] = [];
    const sink = {
      write: async (batch: readonly ItemResult[]) => {
        maxAhead = Math.max(maxAhead, source.pulled - written);
        for (const r of batch) {
          if (r.seq !== nextSeq++ || !r.ok) inOrder = false;
        }
        written += batch.length;
        batches++;
        // Deliberately slow: every batch yields to the event loop, every 50th waits a millisecond.
        await new Promise((resolve) => (batches % 50 === 0 ? setTimeout(resolve, 1) : setImmediate(resolve)));
        if (batches % 2000 === 0) samples.push(heapMb());
      },
      close: async () => {},
    };
    const summary = await runBatch({
      source: fromAsyncIterable(records),
      sink,
      transport,
      app: 'workflow',
      concurrency: 64,
      window,
      batch: { size: 64, maxWaitMs: 10 },
    });
    expect(summary.written).toBe(total);
    expect(inOrder).toBe(true);
    expect(maxAhead).toBeLessThanOrEqual(window + 1);
    // Flat: after warm-up, the heap never grows by more than a few MB (an unbounded queue of 1M
    // items would add hundreds of MB).
    const warm = samples.slice(1);
    expect(warm.length).toBeGreaterThan(3);
    expect(Math.max(...warm) - Math.min(...warm)).toBeLessThan(16);
  }, 120_000);
});
