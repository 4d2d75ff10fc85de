import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckWatermark } from '../../src/pipeline/AckWatermark.js';

const item = (seq: number, partition: string, offset: number) => ({ seq, position: { partition, offset } });

describe('AckWatermark', () => {
  it('moves only over a contiguous acknowledged prefix', () => {
    const marks = new AckWatermark();
    for (let seq = 0; seq < 4; seq++) marks.track(item(seq, 'p', seq * 10));
    marks.ack(1);
    expect(marks.takeAdvanced()).toEqual([]);
    marks.ack(0);
    expect(marks.takeAdvanced()).toEqual([
      { partition: 'p', seq: 1, position: { partition: 'p', offset: 10 }, count: 2 },
    ]);
    expect(marks.takeAdvanced()).toEqual([]);
    marks.ack(3);
    expect(marks.current().map((w) => w.seq)).toEqual([1]);
    marks.ack(2);
    expect(marks.takeAdvanced().map((w) => w.seq)).toEqual([3]);
    expect(marks.pending).toBe(0);
  });

  it('keeps partitions independent', () => {
    const marks = new AckWatermark();
    marks.track(item(0, 'a', 5));
    marks.track(item(1, 'b', 7));
    marks.track(item(2, 'a', 6));
    marks.ack(2);
    marks.ack(1);
    expect(marks.takeAdvanced()).toEqual([
      { partition: 'b', seq: 1, position: { partition: 'b', offset: 7 }, count: 1 },
    ]);
    marks.forget('a');
    expect(marks.pending).toBe(0);
    marks.ack(0);
    expect(marks.takeAdvanced()).toEqual([]);
  });

  it('ignores acknowledgements of untracked items', () => {
    const marks = new AckWatermark();
    marks.ack(42);
    expect(marks.current()).toEqual([]);
  });

  it('property: the watermark is the longest acknowledged prefix of each partition', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 200 }),
        fc.infiniteStream(fc.nat()),
        fc.nat(),
        (partitions, picks, cut) => {
          const marks = new AckWatermark();
          partitions.forEach((p, seq) => {
            marks.track(item(seq, p, seq));
          });
          // Acknowledge a random subset in a random order.
          const order = partitions.map((_, seq) => seq);
          const it = picks[Symbol.iterator]();
          for (let i = order.length - 1; i > 0; i--) {
            const j = it.next().value! % (i + 1);
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          const acked = new Set(order.slice(0, cut % (order.length + 1)));
          for (const seq of acked) marks.ack(seq);
          const expected = new Map<string, number>();
          const blocked = new Set<string>();
          partitions.forEach((p, seq) => {
            if (blocked.has(p)) return;
            if (acked.has(seq)) expected.set(p, seq);
            else blocked.add(p);
          });
          const got = new Map(marks.current().map((w) => [w.partition, w.seq]));
          expect(got).toEqual(expected);
        },
      ),
    );
  });
});
