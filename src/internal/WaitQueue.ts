interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * A FIFO of callers waiting for something (a token, a slot, a pass), each abortable. Shared by
 * TokenBucket, AdaptiveConcurrency, CircuitBreaker and FileUploads. An aborted waiter leaves the
 * queue, rejects with `signal.reason`, and no listener stays on its signal, whichever way it ends.
 */
export class WaitQueue<T> {
  readonly #queue: Waiter<T>[] = [];

  get length(): number {
    return this.#queue.length;
  }

  /** Waits until {@link resolveNext} reaches this caller. `onAbandon` runs after an abort removed it. */
  wait(signal: AbortSignal | undefined, onAbandon?: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.#queue.indexOf(waiter);
          if (index >= 0) this.#queue.splice(index, 1);
          onAbandon?.();
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** Resolves the longest-waiting caller with `value`; false when nobody waits. */
  resolveNext(value: T): boolean {
    const waiter = this.#queue.shift();
    if (waiter === undefined) return false;
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(value);
    return true;
  }

  /** Rejects every waiting caller with `reason` and empties the queue. */
  rejectAll(reason: unknown): void {
    for (const waiter of this.#queue.splice(0)) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(reason);
    }
  }
}
