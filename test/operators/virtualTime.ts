import { VirtualTimeScheduler } from 'rxjs';
import { type RunHelpers, TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';

/**
 * Virtual time for code that mixes scheduler timers with Promises (p-retry, TokenBucket.take,
 * async iterators). TestScheduler's own flush is synchronous, so a Promise that settles at frame 5
 * would only run after the whole flush. Here time advances one frame at a time, and all pending
 * microtasks and immediates run before the clock moves: a Promise settles "at" the frame whose
 * action resolved it.
 */
export async function advance(scheduler: VirtualTimeScheduler, maxFrame = 100_000): Promise<void> {
  for (;;) {
    await settle();
    const next = scheduler.actions[0];
    if (next === undefined) return;
    if (next.delay > maxFrame) throw new Error(`virtual time ran past frame ${maxFrame}`);
    scheduler.maxFrames = next.delay;
    VirtualTimeScheduler.prototype.flush.call(scheduler);
  }
}

/** Lets every queued microtask (and anything they queue) run. */
export async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}

class SteppingTestScheduler extends TestScheduler {
  holdFlush = false;

  override flush(): void {
    // run() flushes synchronously when its callback returns; we step asynchronously instead.
    if (!this.holdFlush) super.flush();
  }
}

export type MarbleHelpers = RunHelpers & { readonly scheduler: TestScheduler };

/**
 * `TestScheduler.run` for Promise-driven operators: the callback sets up marbles and expectations
 * as usual (time progression syntax included), then virtual time is stepped with {@link advance}
 * and the expectations are checked. Pass `scheduler` to the operators under test.
 */
export async function runMarbles(callback: (helpers: MarbleHelpers) => void): Promise<void> {
  const scheduler = new SteppingTestScheduler((actual, expected) => expect(actual).toEqual(expected));
  scheduler.holdFlush = true;
  try {
    scheduler.run((helpers) => callback({ ...helpers, scheduler }));
  } finally {
    scheduler.holdFlush = false;
  }
  for (const hot of scheduler.hotObservables.splice(0)) hot.setup();
  await advance(scheduler);
  scheduler.maxFrames = Number.POSITIVE_INFINITY;
  scheduler.flush();
}
