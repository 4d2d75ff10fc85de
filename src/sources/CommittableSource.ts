import type { Item } from '../core/Item.js';
import type { Watermark } from '../pipeline/AckWatermark.js';

/**
 * A source that wants to know how far its records are done: `runBatch` calls `commit` after the
 * sinks acknowledged every result up to each watermark (Kafka: commit offsets; a queue: ack).
 *
 * @remarks
 * Calls are serial (the next waits for the previous promise) and always carry the newest watermark
 * of each partition that moved; a final call follows the last write. A rejection is fatal to the
 * run (`ERR_SOURCE_COMMIT`), since continuing would re-deliver without bound after a restart.
 * @category sources
 */
export interface CommittableSource<T = Item> extends AsyncIterable<T> {
  commit(watermarks: readonly Watermark[], signal?: AbortSignal): Promise<void>;
}

/** True when `source` has a `commit` method. */
export function isCommittable<T>(source: AsyncIterable<T>): source is CommittableSource<T> {
  return typeof (source as Partial<CommittableSource<T>>).commit === 'function';
}
