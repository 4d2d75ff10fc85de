import type { DifyAppKind, DifyResponseMode } from '../../dify/DifyRequest.js';
import type { SourceFormat } from '../../sources/SourceFormat.js';
import type { SealedKey } from './JobKeys.js';
import type { JobStatsSnapshot } from './JobStats.js';

/** Where a job is in its life. */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** The options a job runs with (the query parameters or JSON fields of `POST /v1/jobs`). */
export interface JobOptions {
  readonly app: DifyAppKind;
  readonly response_mode: DifyResponseMode;
  /** Calls in flight at most for this job, capped by the gateway's concurrency. */
  readonly concurrency: number;
  readonly user: string;
  readonly id_field?: string | undefined;
  readonly inputs_field?: string | undefined;
  readonly query_field?: string | undefined;
}

/** The content of `<data-dir>/<id>/job.json`: everything but the key itself. */
export interface JobRecord {
  readonly id: string;
  /** SHA-256 of the creator's key: only that key sees the job. */
  readonly owner: string;
  readonly status: JobStatus;
  readonly created_at: string;
  readonly started_at?: string | undefined;
  readonly finished_at?: string | undefined;
  readonly options: JobOptions;
  readonly input: {
    readonly format: SourceFormat;
    readonly bytes: number;
    /** Records in the input, when countable (NDJSON, CSV): makes the ETA. */
    readonly records?: number | undefined;
    readonly url?: string | undefined;
    /** The job whose failures this one re-runs. */
    readonly retry_of?: string | undefined;
  };
  /** The key sealed with the gateway's secret, when it has one. */
  readonly sealed_key?: SealedKey | undefined;
  /** Interrupted by a restart with no way to call upstream: resumes on its owner's next API call. */
  readonly waiting_for_owner?: boolean | undefined;
  /** Why a `failed` job stopped (fatal errors only; per-record failures are in `/errors`). */
  readonly error?: { readonly code: string; readonly message: string } | undefined;
  readonly stats: JobStatsSnapshot;
}
