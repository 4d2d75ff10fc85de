import type { SchedulerLike } from 'rxjs';

/**
 * AbortSignal plumbing shared by retryBackoff, TokenBucket and callDify (raceAbort lives in
 * src/internal, as sources use it too). Every helper removes the
 * listeners it adds on every path (settle, abort), so long-lived signals do not accumulate them.
 */

/**
 * Aborts `child` (with the parent's reason) when `parent` aborts, at once if it already has.
 * Returns the unlink function; call it when the child's work is over.
 */
export function linkAbort(parent: AbortSignal | undefined, child: AbortController): () => void {
  if (parent === undefined) return noop;
  if (parent.aborted) {
    child.abort(parent.reason);
    return noop;
  }
  const onAbort = (): void => child.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return () => parent.removeEventListener('abort', onAbort);
}

/**
 * Resolves after `ms` on `scheduler`'s clock (virtual under TestScheduler). An abort cancels the
 * scheduled action and rejects with `signal.reason`.
 */
export function delay(ms: number, scheduler: SchedulerLike, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      action.unsubscribe();
      reject(signal?.reason);
    };
    const action = scheduler.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function noop(): void {}
