import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import type { ItemResult } from '../core/ItemResult.js';
import { isFailedRunStatus } from '../dify/isFailedRunStatus.js';
import { checkHttpUrl, checkNumber, checkOption, checkSignal } from '../internal/checkOption.js';

/**
 * Options of {@link recoverWorkflowRuns}.
 * @category checkpoint
 */
export interface RecoverWorkflowRunsOptions {
  /** Dify Service API base URL, `/v1` included. */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Poll a run still `running` this often. @defaultValue `500` */
  readonly pollIntervalMs?: number | undefined;
  /**
   * Give up on a run that is still `running` after this long (real Dify can leave a run whose stream
   * dropped "running" for good); it is then called again. @defaultValue `120000`
   */
  readonly maxWaitMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Defaults of {@link RecoverWorkflowRunsOptions}. */
export const RECOVER_WORKFLOW_RUNS_DEFAULTS = Object.freeze({ pollIntervalMs: 500, maxWaitMs: 120_000 });

/** Statuses of a run that has not finished yet. */
const UNFINISHED = new Set(['running', 'pending']);

/**
 * Recovers streaming workflow runs that a crashed run saw start (`workflow_started`) but whose result
 * it never got: polls `GET /workflows/run/{id}` until each has finished and turns it into the result
 * the call would have given, so the run is not paid for twice.
 *
 * @remarks
 * A run that ended without its outputs (`failed`, `stopped`, `paused`: isFailedRunStatus) becomes an
 * `ERR_DIFY_RUN_FAILED` failure, as a live call would; any other finished status is a success with
 * its `outputs`. A run that is unknown (404), cannot
 * be fetched, or is still running after `maxWaitMs` is left out: the caller runs that item again.
 * Never throws for a run; rejects only with `signal.reason`, or with `ERR_INVALID_OPTION` for a bad
 * option (before any request).
 *
 * @param runs - By `seq`: the item's id and its `workflow_run_id` (a journal's `runIds`).
 * @returns The recovered results by `seq`.
 * @category checkpoint
 */
export async function recoverWorkflowRuns(
  runs: ReadonlyMap<number, { readonly id: string; readonly workflowRunId: string }>,
  options: Readonly<RecoverWorkflowRunsOptions>,
): Promise<Map<number, ItemResult>> {
  const { pollIntervalMs, maxWaitMs } = { ...RECOVER_WORKFLOW_RUNS_DEFAULTS, ...stripUndefined(options) };
  checkHttpUrl('baseUrl', options.baseUrl);
  // Never the key itself, even a bad one.
  checkOption(
    typeof options.apiKey === 'string' && options.apiKey !== '',
    'apiKey',
    'a non-empty string',
    '[REDACTED]',
  );
  checkNumber('pollIntervalMs', pollIntervalMs, 0, { exclusive: true });
  checkNumber('maxWaitMs', maxWaitMs, 0);
  checkSignal(options.signal);
  const recovered = new Map<number, ItemResult>();
  if (runs.size === 0) return recovered;
  const base = options.baseUrl.replace(/\/+$/, '');
  const agent = new Agent({ connections: 8 });
  const fetchRun = async (workflowRunId: string): Promise<Record<string, unknown> | undefined> => {
    const url = `${base}/workflows/run/${encodeURIComponent(workflowRunId)}`;
    const response = await agent.request({
      origin: new URL(url).origin,
      path: new URL(url).pathname,
      method: 'GET',
      headers: { authorization: `Bearer ${options.apiKey}` },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) return undefined;
    const body = JSON.parse(text) as unknown;
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
  };
  const recoverOne = async (seq: number, id: string, workflowRunId: string): Promise<void> => {
    const startedAt = performance.now();
    for (;;) {
      let run: Record<string, unknown> | undefined;
      try {
        run = await fetchRun(workflowRunId);
      } catch {
        if (options.signal?.aborted) throw options.signal.reason;
        return;
      }
      if (run === undefined) return;
      const status = typeof run.status === 'string' ? run.status : 'unknown';
      if (!UNFINISHED.has(status)) {
        recovered.set(seq, toResult(seq, id, workflowRunId, status, run, performance.now() - startedAt));
        return;
      }
      if (performance.now() - startedAt + pollIntervalMs > maxWaitMs) return;
      // timers/promises rejects with its own AbortError; the documented rejection is `signal.reason`.
      await sleep(
        pollIntervalMs,
        undefined,
        options.signal === undefined ? {} : { signal: options.signal },
      ).catch((error: unknown) => {
        throw options.signal?.aborted ? options.signal.reason : error;
      });
    }
  };
  try {
    await Promise.all([...runs].map(([seq, run]) => recoverOne(seq, run.id, run.workflowRunId)));
  } finally {
    await agent.close();
  }
  return recovered;
}

function toResult(
  seq: number,
  id: string,
  workflowRunId: string,
  status: string,
  run: Record<string, unknown>,
  latencyMs: number,
): ItemResult {
  if (isFailedRunStatus(status)) {
    return {
      seq,
      id,
      ok: false,
      error: {
        code: 'ERR_DIFY_RUN_FAILED',
        message: `workflow run ${workflowRunId} finished with status "${status}"`,
        retryable: false,
      },
      attempts: 1,
      latencyMs,
    };
  }
  const outputs = typeof run.outputs === 'object' && run.outputs !== null ? run.outputs : {};
  return {
    seq,
    id,
    ok: true,
    outputs: outputs as Record<string, unknown>,
    attempts: 1,
    latencyMs,
    workflowRunId,
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
