import type { ItemResult } from '../core/ItemResult.js';
import type { JournalContents } from './FileCheckpoint.js';
import { type RecoverWorkflowRunsOptions, recoverWorkflowRuns } from './recoverWorkflowRuns.js';

/**
 * Options of {@link pollBackStartedRuns}: the crashed run's call shape, and how to reach Dify.
 * @category checkpoint
 */
export interface PollBackStartedRunsOptions extends RecoverWorkflowRunsOptions {
  /** The app type the run called (`workflow`, `completion`, `chat`). */
  readonly app: string;
  /** The run's response mode (`blocking`, `streaming`). */
  readonly responseMode: string;
}

/** What {@link pollBackStartedRuns} made of a crashed run's journal. */
export interface PollBackStartedRunsResult {
  /** The journal to continue with: its results plus those recovered; no run ids left. */
  readonly journal: JournalContents;
  /** How many started runs were polled (0 when the run's calls cannot be polled back). */
  readonly polled: number;
  /** How many of them gave their result back. */
  readonly recovered: number;
}

/**
 * Turns a crashed run's journal into what its continuation starts from: the streaming workflow runs it
 * saw start but never got the end of are polled back with {@link recoverWorkflowRuns}, so they are not
 * paid for twice; the rest are dropped, and their items are called again.
 *
 * @remarks
 * Only streaming workflow runs are polled: `workflow_started` is the one event that names a run before
 * its result, and `GET /workflows/run/{id}` exists for workflows only (dify-api.md); a blocking call's
 * run id arrives with its result, so nothing of it is left to recover. The CLI's `--resume` and the
 * gateway's job restart both go through here, so the two cannot drift on which runs they poll back.
 * The journal given is not changed. Rejects as {@link recoverWorkflowRuns} does (`signal.reason`, or
 * `ERR_INVALID_OPTION` before any request), and only when there is something to poll.
 *
 * @param journal - A crashed run's journal ({@link FileCheckpoint.readJournal}).
 * @returns The journal to hand {@link FileCheckpoint.open} as `recovered`, and the counts.
 * @category checkpoint
 */
export async function pollBackStartedRuns(
  journal: JournalContents,
  options: Readonly<PollBackStartedRunsOptions>,
): Promise<PollBackStartedRunsResult> {
  const results = new Map<number, ItemResult>(journal.results);
  const pollable = options.app === 'workflow' && options.responseMode === 'streaming';
  if (!pollable || journal.runIds.size === 0) {
    return { journal: { results, runIds: new Map() }, polled: 0, recovered: 0 };
  }
  const { app: _app, responseMode: _mode, ...recoverOptions } = options;
  const runs = await recoverWorkflowRuns(journal.runIds, recoverOptions);
  for (const [seq, result] of runs) results.set(seq, result);
  return { journal: { results, runIds: new Map() }, polled: journal.runIds.size, recovered: runs.size };
}
