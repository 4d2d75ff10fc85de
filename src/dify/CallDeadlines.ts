import { CallAbort } from './CallAbort.js';

/**
 * The abort handle of one call with its total deadline, made by {@link CallDeadlines.start}.
 * `dispose()` must be called once the call is over, on every path.
 */
export class CallDeadline extends CallAbort {
  /** Aborted because the total deadline passed (not the caller's signal). */
  timedOut = false;
  /** `performance.now()` value after which the call is cut; `Infinity` without a deadline. */
  readonly deadlineAt: number;
  disposed = false;
  /** The caller's signal this call is linked to, if any. */
  readonly callerSignal: AbortSignal | undefined;
  /** Neighbours among the live calls of the same caller signal (see SignalListeners). */
  prevOfSignal: CallDeadline | undefined = undefined;
  nextOfSignal: CallDeadline | undefined = undefined;
  readonly #owner: CallDeadlines;
  readonly #listeners: SignalListeners | undefined;

  constructor(owner: CallDeadlines, deadlineAt: number, listeners: SignalListeners | undefined) {
    super();
    this.#owner = owner;
    this.deadlineAt = deadlineAt;
    this.#listeners = listeners;
    this.callerSignal = listeners?.signal;
  }

  /** Ends the call's bookkeeping: its deadline and its interest in the caller's signal. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.#owner.release(this, this.#listeners);
  }
}

/**
 * The calls of one caller signal and the single listener they share. The calls form a list threaded
 * through the CallDeadlines themselves: joining and leaving it (once per call) allocates and hashes
 * nothing, where a Set did both.
 */
interface SignalListeners {
  readonly signal: AbortSignal;
  first: CallDeadline | undefined;
  readonly onAbort: () => void;
}

/** Compact the deadline queue once this many finished entries sit before its live ones. */
const COMPACT_AFTER = 1024;

/**
 * The deadlines and abort links of all calls of one client.
 *
 * Why not a timer and a signal listener per call: both were the largest per-call costs of
 * DifyClient over a bare undici request (an `addEventListener`/`removeEventListener` pair on the
 * run's shared signal, a Timeout allocated, inserted and cleared). Every call of a client has the
 * same `totalMs`, so deadlines come due in the order calls start: a FIFO with one timer armed for
 * its oldest live entry gives each call the exact deadline it would have had alone. Calls sharing a
 * caller signal (callDify passes one per run) share one listener, removed when their last call ends,
 * so no listener outlives the calls.
 */
export class CallDeadlines {
  readonly #totalMs: number;
  /** Deadlines in start order (= due order); finished entries are skipped, then compacted away. */
  #queue: CallDeadline[] = [];
  #head = 0;
  #live = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #bySignal = new Map<AbortSignal, SignalListeners>();

  /** @param totalMs - each call's deadline from its start; `0` disables it. */
  constructor(totalMs: number) {
    this.#totalMs = totalMs;
  }

  /** Starts the bookkeeping of one call: aborts it when `signal` aborts or its deadline passes. */
  start(signal: AbortSignal | undefined): CallDeadline {
    const listeners = signal === undefined ? undefined : this.#listenersOf(signal);
    const deadlineAt = this.#totalMs > 0 ? performance.now() + this.#totalMs : Number.POSITIVE_INFINITY;
    const call = new CallDeadline(this, deadlineAt, listeners);
    if (listeners !== undefined) {
      call.nextOfSignal = listeners.first;
      if (listeners.first !== undefined) listeners.first.prevOfSignal = call;
      listeners.first = call;
    }
    if (this.#totalMs > 0) {
      this.#queue.push(call);
      this.#live++;
      if (this.#timer === undefined) this.#arm(this.#totalMs);
    }
    return call;
  }

  /** Called by {@link CallDeadline.dispose}. */
  release(call: CallDeadline, listeners: SignalListeners | undefined): void {
    if (listeners !== undefined) {
      const { prevOfSignal: prev, nextOfSignal: next } = call;
      if (prev === undefined) listeners.first = next;
      else prev.nextOfSignal = next;
      if (next !== undefined) next.prevOfSignal = prev;
      call.prevOfSignal = undefined;
      call.nextOfSignal = undefined;
      if (listeners.first === undefined && this.#bySignal.get(listeners.signal) === listeners) {
        this.#bySignal.delete(listeners.signal);
        listeners.signal.removeEventListener('abort', listeners.onAbort);
      }
    }
    if (call.deadlineAt === Number.POSITIVE_INFINITY) return;
    this.#live--;
    if (this.#live === 0) {
      // Nothing left to time: no timer keeps the process alive, the queue is empty.
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#queue = [];
      this.#head = 0;
      return;
    }
    this.#skipFinished();
  }

  #listenersOf(signal: AbortSignal): SignalListeners {
    const known = this.#bySignal.get(signal);
    if (known !== undefined) return known;
    const onAbort = (): void => {
      this.#bySignal.delete(signal);
      // Taken first: an abort may end its call (and unlink it) at once.
      const calls: CallDeadline[] = [];
      for (let call = listeners.first; call !== undefined; call = call.nextOfSignal) calls.push(call);
      for (const call of calls) call.abort(signal.reason);
    };
    const listeners: SignalListeners = { signal, first: undefined, onAbort };
    this.#bySignal.set(signal, listeners);
    signal.addEventListener('abort', onAbort, { once: true });
    return listeners;
  }

  #skipFinished(): void {
    const queue = this.#queue;
    while (this.#head < queue.length && queue[this.#head]!.disposed) this.#head++;
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    } else if (queue.length - this.#head > 2 * this.#live + COMPACT_AFTER) {
      // A slow call at the head holds finished ones behind it: drop those.
      this.#queue = queue.filter((entry, index) => index >= this.#head && !entry.disposed);
      this.#head = 0;
    }
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#fire(), ms);
  }

  #fire(): void {
    this.#timer = undefined;
    const now = performance.now();
    this.#skipFinished();
    while (this.#head < this.#queue.length) {
      const call = this.#queue[this.#head]!;
      if (call.disposed) {
        this.#head++;
        continue;
      }
      // A timer may fire a fraction of a millisecond before performance.now() agrees: wait that out.
      if (call.deadlineAt > now) {
        this.#arm(Math.max(1, Math.ceil(call.deadlineAt - now)));
        return;
      }
      this.#head++;
      call.timedOut = true;
      call.abort();
    }
  }
}
