import type { UpstreamScheduler, UpstreamSlot } from '../UpstreamScheduler.js';

interface Waiter {
  readonly resolve: (slot: UpstreamSlot) => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

/**
 * Round robin between jobs over the gateway's one concurrency: each job is a lane of waiting attempts,
 * and every slot the {@link UpstreamScheduler} frees goes to the next lane in turn, so a 10-item job
 * submitted while a 10,000-item job runs gets every other slot instead of waiting behind it.
 *
 * @remarks
 * Only one slot request of all the jobs waits in the scheduler's FIFO queue at a time: the lane is
 * chosen when the slot is granted, not when it is asked for, which is what makes the turn fair.
 * Synchronous batch requests queue in the same FIFO, so jobs as a whole take turns with them.
 */
export class FairLanes {
  readonly #scheduler: UpstreamScheduler;
  /** Lanes in round-robin order; a lane is deleted when it empties and re-added at the end. */
  readonly #lanes = new Map<string, Waiter[]>();
  readonly #stop = new AbortController();
  #pumping = false;

  constructor(scheduler: UpstreamScheduler) {
    this.#scheduler = scheduler;
  }

  /** Waits for this lane's turn and a slot; rejects with `signal.reason` on abort. */
  acquire(lane: string, signal: AbortSignal): Promise<UpstreamSlot> {
    signal.throwIfAborted();
    return new Promise<UpstreamSlot>((resolve, reject) => {
      const onAbort = (): void => {
        const queue = this.#lanes.get(lane);
        const index = queue?.indexOf(waiter) ?? -1;
        if (queue !== undefined && index !== -1) {
          queue.splice(index, 1);
          if (queue.length === 0) this.#lanes.delete(lane);
        }
        reject(signal.reason);
      };
      const waiter: Waiter = { resolve, reject, signal, onAbort };
      signal.addEventListener('abort', onAbort, { once: true });
      const queue = this.#lanes.get(lane);
      if (queue === undefined) this.#lanes.set(lane, [waiter]);
      else queue.push(waiter);
      this.#pump();
    });
  }

  /** Rejects every waiter (the gateway is closing). */
  close(reason: unknown): void {
    this.#stop.abort(reason);
    for (const queue of this.#lanes.values()) {
      for (const waiter of queue) {
        waiter.signal.removeEventListener('abort', waiter.onAbort);
        waiter.reject(reason);
      }
    }
    this.#lanes.clear();
  }

  #pump(): void {
    if (this.#pumping || this.#stop.signal.aborted) return;
    this.#pumping = true;
    void (async () => {
      try {
        while (this.#lanes.size > 0 && !this.#stop.signal.aborted) {
          const slot = await this.#scheduler.acquireSlot(this.#stop.signal);
          const waiter = this.#next();
          // Every waiter went away while the slot was on its way: give it back untouched.
          if (waiter === undefined) slot.release('other');
          else {
            waiter.signal.removeEventListener('abort', waiter.onAbort);
            waiter.resolve(slot);
          }
        }
      } catch {
        // Closed: close() rejected the waiters.
      } finally {
        this.#pumping = false;
      }
    })();
  }

  /** The head of the first lane, that lane moved to the end of the turn. */
  #next(): Waiter | undefined {
    for (const [lane, queue] of this.#lanes) {
      this.#lanes.delete(lane);
      const waiter = queue.shift();
      if (queue.length > 0) this.#lanes.set(lane, queue);
      if (waiter !== undefined) return waiter;
    }
    return undefined;
  }
}
