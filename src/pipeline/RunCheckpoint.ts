import type { ItemResult } from '../core/ItemResult.js';
import type { Watermark } from './AckWatermark.js';

/**
 * What {@link RunCheckpoint.save} receives after each written batch: how far the run is durably done.
 * @category pipeline
 */
export interface CheckpointPoint {
  /** The contiguous acknowledgement watermark of each source partition (see AckWatermark). */
  readonly watermarks: readonly Watermark[];
  /** Results written by this run so far. */
  readonly written: number;
  /** Of those, failed ones (`ok: false`). */
  readonly failed: number;
  /** The result sink's byte length after those results (`sink.bytesWritten`), when it has one. */
  readonly outputBytes: number | undefined;
  /** The dead-letter sink's byte length, when there is one and it counts bytes. */
  readonly deadLetterBytes: number | undefined;
  /** The run's last save (its end, or the end of a drain): never skipped by throttling. */
  readonly final: boolean;
  /**
   * Makes the sinks' bytes durable (fsync). A checkpoint calls it before it records offsets that
   * point past them, and only when it really saves (throttled saves cost nothing).
   */
  readonly syncSinks: () => Promise<void>;
}

/**
 * Where a run records how far it got, so that a crashed run can continue (`run --resume`): the
 * pipeline's one acknowledgement watermark, the sinks' byte offsets, and a journal of results that
 * completed but are not written yet. {@link FileCheckpoint} is the file implementation.
 *
 * @remarks
 * `runBatch` calls `journal` with every result as it completes (in completion order, before the
 * reorder buffer), `journalRunId` when a streaming workflow call learns its `workflow_run_id`, and
 * `save` after every written batch (serially, awaited: a rejection is fatal, `ERR_CHECKPOINT`).
 * Items whose `seq` is in `recovered` are not called again: their journaled result is used; items in
 * `alreadyWritten` are neither called nor written.
 * @category pipeline
 */
export interface RunCheckpoint {
  /** Results of an earlier, crashed run that were paid for but not written, by `seq`. */
  readonly recovered?: ReadonlyMap<number, ItemResult> | undefined;
  /**
   * Items at or past the watermark whose results an earlier, unordered run already wrote (it writes
   * as results complete, ahead of its watermark): acknowledged without being called or written again.
   */
  readonly alreadyWritten?: ReadonlySet<number> | undefined;
  /** A result has completed (not necessarily written). */
  journal(result: ItemResult): void;
  /** A streaming workflow call of item `seq` (id `id`) has started as run `workflowRunId` on the server. */
  journalRunId?(seq: number, id: string, workflowRunId: string): void;
  /** Records a point; may skip it (throttling) unless `point.final`. */
  save(point: CheckpointPoint): Promise<void>;
}
