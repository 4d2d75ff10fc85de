import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FairLanes } from '../../../src/gateway/jobs/FairLanes.js';
import { UpstreamScheduler } from '../../../src/gateway/UpstreamScheduler.js';
import { BatchMetrics } from '../../../src/metrics/BatchMetrics.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Queues `sizes[i]` attempts in lane i (all at once), then grants slots one at a time; the lane order. */
async function grantOrder(sizes: readonly number[]): Promise<number[]> {
  const scheduler = new UpstreamScheduler({
    concurrency: 1,
    queue: 1,
    metrics: new BatchMetrics({ processMetrics: false }),
  });
  const lanes = new FairLanes(scheduler);
  const order: number[] = [];
  const signal = new AbortController().signal;
  const all = sizes.flatMap((size, lane) =>
    Array.from({ length: size }, () =>
      lanes.acquire(`job-${lane}`, signal).then(async (slot) => {
        order.push(lane);
        await tick();
        slot.release('ok');
      }),
    ),
  );
  await Promise.all(all);
  return order;
}

describe('FairLanes', () => {
  it('FairLanes - grants slots round robin: a small lane is never behind a big one', async () => {
    const order = await grantOrder([50, 3]);
    // Lane 1's three attempts are among the first seven grants, not after lane 0's fifty.
    expect(order.lastIndexOf(1)).toBeLessThan(7);
    expect(order.filter((lane) => lane === 0)).toHaveLength(50);
  });

  it('FairLanes - every attempt gets exactly one slot, and lanes with waiters never differ by more than one turn', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 }),
        async (sizes) => {
          const order = await grantOrder(sizes);
          expect(order.length).toBe(sizes.reduce((a, b) => a + b, 0));
          const seen = sizes.map(() => 0);
          for (const lane of order) {
            seen[lane]!++;
            // Every lane that still has waiters has been served at least (this lane's count - 1) times.
            for (let other = 0; other < sizes.length; other++) {
              if (seen[other]! < sizes[other]!) expect(seen[lane]! - seen[other]!).toBeLessThanOrEqual(1);
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('FairLanes - an aborted waiter leaves its lane and rejects with the reason', async () => {
    const scheduler = new UpstreamScheduler({
      concurrency: 1,
      queue: 1,
      metrics: new BatchMetrics({ processMetrics: false }),
    });
    const lanes = new FairLanes(scheduler);
    const held = await lanes.acquire('a', new AbortController().signal);
    const controller = new AbortController();
    const waiting = lanes.acquire('b', controller.signal);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    held.release('ok');
    const next = await lanes.acquire('c', new AbortController().signal);
    next.release('ok');
  });
});
