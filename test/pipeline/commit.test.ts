import { describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/Item.js';
import type { ItemResult } from '../../src/core/ItemResult.js';
import type { Watermark } from '../../src/pipeline/AckWatermark.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import type { CommittableSource } from '../../src/sources/CommittableSource.js';
import { fakeTransport } from '../helpers/fakeTransport.js';
import { memorySink } from '../helpers/memorySink.js';

/** Two interleaved "partitions" whose offsets restart at 0 each, like Kafka's. */
function partitionedSource(count: number): CommittableSource & { commits: Watermark[][] } {
  const commits: Watermark[][] = [];
  return {
    commits,
    async *[Symbol.asyncIterator](): AsyncIterator<Item> {
      for (let seq = 0; seq < count; seq++) {
        const partition = seq % 2 === 0 ? 't:0' : 't:1';
        yield {
          seq,
          id: String(seq),
          inputs: { n: seq },
          position: { partition, offset: Math.floor(seq / 2) },
        };
      }
    },
    async commit(watermarks) {
      commits.push([...watermarks]);
    },
  };
}

describe('runBatch source commits', () => {
  it('commits each partition only up to what the sink has written, ending at the last offset', async () => {
    const { transport } = fakeTransport((req) => ({ delayMs: ((req.inputs.n as number) * 7) % 5 }));
    const source = partitionedSource(301);
    const out = memorySink<ItemResult>();
    let writtenSoFar = 0;
    const sink = {
      write: async (batch: readonly ItemResult[]) => {
        await out.sink.write(batch);
        writtenSoFar += batch.length;
      },
      close: () => out.sink.close(),
    };
    const checkedSource: CommittableSource = {
      [Symbol.asyncIterator]: () => source[Symbol.asyncIterator](),
      async commit(watermarks) {
        // Every item up to a committed seq must already be in the sink.
        const written = new Set(out.results.map((r) => r.seq));
        for (const w of watermarks) {
          for (let seq = w.seq; seq >= 0; seq -= 2) expect(written.has(seq)).toBe(true);
        }
        expect(writtenSoFar).toBe(out.results.length);
        await source.commit(watermarks);
      },
    };
    await runBatch({
      source: checkedSource,
      sink,
      transport,
      app: 'workflow',
      concurrency: 8,
      ordered: false,
      batch: { size: 7, maxWaitMs: 1 },
    });
    const last = new Map<string, Watermark>();
    for (const call of source.commits) for (const w of call) last.set(w.partition, w);
    expect(last.get('t:0')).toMatchObject({ seq: 300, position: { offset: 150 }, count: 151 });
    expect(last.get('t:1')).toMatchObject({ seq: 299, position: { offset: 149 }, count: 150 });
  });

  it('fails the run with ERR_SOURCE_COMMIT when a commit rejects', async () => {
    const { transport } = fakeTransport(() => ({ delayMs: 0 }));
    const inner = partitionedSource(10);
    const source: CommittableSource = {
      [Symbol.asyncIterator]: () => inner[Symbol.asyncIterator](),
      commit: async () => {
        throw new Error('broker gone');
      },
    };
    await expect(
      runBatch({ source, sink: memorySink<ItemResult>().sink, transport, app: 'workflow' }),
    ).rejects.toMatchObject({ code: 'ERR_SOURCE_COMMIT', message: expect.stringContaining('broker gone') });
  });
});
