import type { Item, SourcePosition } from '../core/Item.js';

/**
 * How far one source partition is done: every item of `partition` up to and including `seq` has
 * been acknowledged by the sinks (its result, and its dead-letter entry when it failed, written).
 * @category pipeline
 */
export interface Watermark {
  /** `item.position.partition`, or `''` for items without one. */
  readonly partition: string;
  /** `seq` of the last item of the contiguous acknowledged prefix of this partition. */
  readonly seq: number;
  /** That item's position: where the source resumes (a byte offset, a Kafka offset). */
  readonly position: SourcePosition | undefined;
  /** Items of this partition acknowledged contiguously so far (this run). */
  readonly count: number;
}

interface Tracked {
  readonly seq: number;
  readonly position: SourcePosition | undefined;
  acked: boolean;
}

interface PartitionState {
  readonly name: string;
  /** Items read and not yet in the contiguous prefix, in read order; `head` indexes the first. */
  queue: Tracked[];
  head: number;
  count: number;
  last: Tracked | undefined;
  advanced: boolean;
}

/**
 * Sink acknowledgement → contiguous watermark, per source partition: the one concept behind the
 * file checkpoint (resume after a crash) and Kafka offset commits.
 *
 * @remarks
 * Results are acknowledged in any order (unordered mode, several partitions interleaved); a
 * partition's watermark only moves over an unbroken run of acknowledged items, so committing it
 * never skips an item whose result was not written. Memory is O(items tracked and not yet in a
 * prefix), which the credit gate bounds by `window`. `track` must be called in each partition's
 * read order; `ack` of an untracked seq is ignored (a result that needs no commit).
 *
 * @example
 * ```ts
 * const marks = new AckWatermark();
 * for (const item of items) marks.track(item);       // as read
 * marks.ack(1); marks.ack(0);                          // as the sink acknowledges
 * for (const w of marks.takeAdvanced()) console.log(w.partition, w.seq);
 * ```
 * @category pipeline
 */
export class AckWatermark {
  readonly #partitions = new Map<string, PartitionState>();
  readonly #bySeq = new Map<number, { readonly entry: Tracked; readonly state: PartitionState }>();

  /** Items tracked and not yet inside a watermark. */
  get pending(): number {
    return this.#bySeq.size;
  }

  /** Registers an item as read. Call in read order. */
  track(item: Pick<Item, 'seq' | 'position'>): void {
    const name = item.position?.partition ?? '';
    let state = this.#partitions.get(name);
    if (state === undefined) {
      state = { name, queue: [], head: 0, count: 0, last: undefined, advanced: false };
      this.#partitions.set(name, state);
    }
    const entry: Tracked = { seq: item.seq, position: item.position, acked: false };
    state.queue.push(entry);
    this.#bySeq.set(item.seq, { entry, state });
  }

  /** Marks an item's results as written by every sink. */
  ack(seq: number): void {
    const found = this.#bySeq.get(seq);
    if (found === undefined) return;
    found.entry.acked = true;
    const { state } = found;
    // Only the head can move the watermark; anything behind it waits for the gap to close.
    while (state.head < state.queue.length && state.queue[state.head]!.acked) {
      const done = state.queue[state.head++]!;
      this.#bySeq.delete(done.seq);
      state.last = done;
      state.count++;
      state.advanced = true;
    }
    // Compact now and then so the array does not grow with the run.
    if (state.head > 1024 && state.head * 2 > state.queue.length) {
      state.queue = state.queue.slice(state.head);
      state.head = 0;
    }
  }

  /** Forgets a partition (Kafka: revoked): its tracked items no longer hold anything back. */
  forget(partition: string): void {
    const state = this.#partitions.get(partition);
    if (state === undefined) return;
    for (let i = state.head; i < state.queue.length; i++) this.#bySeq.delete(state.queue[i]!.seq);
    this.#partitions.delete(partition);
  }

  /** The watermarks that moved since the last call, one per partition. */
  takeAdvanced(): Watermark[] {
    return this.#collect(true);
  }

  /** The current watermark of every partition that has one. */
  current(): Watermark[] {
    return this.#collect(false);
  }

  #collect(onlyAdvanced: boolean): Watermark[] {
    const out: Watermark[] = [];
    for (const state of this.#partitions.values()) {
      if (state.last === undefined || (onlyAdvanced && !state.advanced)) continue;
      if (onlyAdvanced) state.advanced = false;
      out.push({
        partition: state.name,
        seq: state.last.seq,
        position: state.last.position,
        count: state.count,
      });
    }
    return out;
  }
}
