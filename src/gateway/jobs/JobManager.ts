import { copyFile, stat } from 'node:fs/promises';
import { redactSecrets } from '../../core/redactSecrets.js';
import type { RetryPolicy } from '../../operators/retryBackoff.js';
import type { UpstreamScheduler } from '../UpstreamScheduler.js';
import { FairLanes } from './FairLanes.js';
import type { JobKeys } from './JobKeys.js';
import type { JobRecord, JobStatus } from './JobRecord.js';
import { type JobSample, JobStats } from './JobStats.js';
import { JobStore } from './JobStore.js';
import { runJob } from './runJob.js';

/** What {@link JobManager} needs from the gateway. */
export interface JobManagerOptions {
  readonly dataDir: string;
  readonly upstream: string;
  readonly scheduler: UpstreamScheduler;
  /** The gateway's own `--api-key`: sent upstream for every job, and resumes any job after a restart. */
  readonly apiKey: string | undefined;
  /** Seals callers' keys so that their jobs resume after a restart without them. */
  readonly keys: JobKeys | undefined;
  readonly retry?: Readonly<RetryPolicy> | undefined;
}

/** A job as the API shows it (`GET /v1/jobs/{id}`). */
export interface JobView {
  readonly id: string;
  readonly status: JobStatus;
  readonly created_at: string;
  readonly started_at: string | null;
  readonly finished_at: string | null;
  readonly options: JobRecord['options'];
  readonly input: JobRecord['input'];
  readonly counts: {
    readonly total: number | null;
    readonly read: number;
    readonly written: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly retries: number;
  };
  /** written / total, 0…1; `null` while the total is unknown (a JSON array input). */
  readonly progress: number | null;
  readonly throughput_per_sec: number;
  readonly eta_seconds: number | null;
  readonly latency_ms: ReturnType<JobStats['latency']>;
  readonly errors_by_code: ReturnType<JobStats['errorsByCode']>;
  readonly waiting_for_owner: boolean;
  readonly note?: string;
  readonly error: JobRecord['error'] | null;
  readonly links: Record<string, string>;
}

/** What a listener hears: progress (after a written batch), a new chart sample, or the end of a run. */
export type JobEvent = 'progress' | 'sample' | 'end';

/** Reasons a run is stopped, told apart in the run's rejection. */
const CANCELLED = Symbol('cancelled');
const CLOSING = Symbol('closing');
const SAMPLE_MS = 1000;

interface Job {
  record: JobRecord;
  readonly stats: JobStats;
  controller?: AbortController;
  run?: Promise<void>;
  readonly listeners: Set<(event: JobEvent) => void>;
}

/**
 * The gateway's jobs: creates them, runs them (every job at once, sharing the gateway's concurrency
 * round robin through {@link FairLanes}), keeps job.json current, resumes interrupted ones on start
 * (with the gateway's key or the caller's sealed key) or on their owner's next call, and tells
 * listeners (the SSE route) about progress.
 */
export class JobManager {
  readonly store: JobStore;
  readonly #options: JobManagerOptions;
  readonly #lanes: FairLanes;
  readonly #jobs = new Map<string, Job>();
  #closed = false;

  constructor(options: JobManagerOptions) {
    this.#options = options;
    this.store = new JobStore(options.dataDir);
    this.#lanes = new FairLanes(options.scheduler);
  }

  /** Loads every job of the data directory and resumes the interrupted ones it can. */
  async open(): Promise<void> {
    for (const record of await this.store.loadAll()) {
      const job: Job = { record, stats: new JobStats(record.stats), listeners: new Set() };
      this.#jobs.set(record.id, job);
      if (record.status !== 'queued' && record.status !== 'running') continue;
      const key = this.#options.apiKey ?? this.#unseal(record);
      if (key !== undefined) this.#start(job, key);
      else await this.#update(job, { waiting_for_owner: true });
    }
  }

  /** The caller's jobs, newest first. */
  list(owner: string): JobView[] {
    return [...this.#jobs.values()]
      .filter((job) => job.record.owner === owner)
      .reverse()
      .map((job) => this.#view(job));
  }

  /** The job if `owner` created it: another key gets `undefined` (the API's 404). */
  get(id: string, owner: string): JobView | undefined {
    const job = this.#jobs.get(id);
    return job === undefined || job.record.owner !== owner ? undefined : this.#view(job);
  }

  /** The time series of the chart so far. */
  samples(id: string): readonly JobSample[] {
    return this.#jobs.get(id)?.stats.samples ?? [];
  }

  /** The owner called the API: its jobs that waited for a key (after a restart) continue now. */
  resumeWaiting(owner: string, key: string): void {
    for (const job of this.#jobs.values()) {
      if (job.record.owner === owner && job.record.waiting_for_owner === true && job.run === undefined) {
        this.#start(job, key);
      }
    }
  }

  /** Accepts a job whose input is already in its folder, and starts it. */
  async submit(record: JobRecord, key: string): Promise<JobView> {
    const sealed = this.#options.apiKey === undefined ? this.#options.keys?.seal(key) : undefined;
    const job: Job = {
      record: { ...record, ...(sealed === undefined ? {} : { sealed_key: sealed }) },
      stats: new JobStats(record.stats),
      listeners: new Set(),
    };
    await this.store.save(job.record);
    this.#jobs.set(record.id, job);
    const view = this.#view(job);
    this.#start(job, key);
    return view;
  }

  /** Cancels a queued or running job; `undefined` when the caller does not own it. */
  async cancel(id: string, owner: string): Promise<JobView | undefined> {
    const job = this.#jobs.get(id);
    if (job === undefined || job.record.owner !== owner) return undefined;
    if (job.record.status === 'queued' || job.record.status === 'running') {
      if (job.run !== undefined) {
        job.controller?.abort(CANCELLED);
        await job.run;
      } else await this.#finish(job, 'cancelled');
    }
    return this.#view(job);
  }

  /** A new job whose input is the dead letters of `id` (its failed records, `_error` dropped on read). */
  async retryFailed(id: string, owner: string, key: string): Promise<JobView | 'not-found' | 'nothing'> {
    const job = this.#jobs.get(id);
    if (job === undefined || job.record.owner !== owner) return 'not-found';
    const from = this.store.paths(id).errors;
    const bytes = await stat(from).then(
      (s) => s.size,
      () => 0,
    );
    if (bytes === 0) return 'nothing';
    const now = new Date();
    const newId = JobStore.newId(now);
    const paths = await this.store.create(newId);
    await copyFile(from, paths.input('ndjson'));
    return this.submit(
      {
        id: newId,
        owner,
        status: 'queued',
        created_at: now.toISOString(),
        options: job.record.options,
        input: { format: 'ndjson', bytes, records: job.stats.failed, retry_of: id },
        stats: emptyStats(),
      },
      key,
    );
  }

  /** Calls `listener` after each progress step, each chart sample and when a run ends. */
  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    const job = this.#jobs.get(id);
    job?.listeners.add(listener);
    return () => job?.listeners.delete(listener);
  }

  /** Stops every run; job.json keeps them `running`, so the next gateway resumes them. */
  async close(): Promise<void> {
    this.#closed = true;
    const runs: Promise<void>[] = [];
    for (const job of this.#jobs.values()) {
      job.controller?.abort(CLOSING);
      if (job.run !== undefined) runs.push(job.run);
    }
    await Promise.all(runs);
    this.#lanes.close(CLOSING);
  }

  #unseal(record: JobRecord): string | undefined {
    return record.sealed_key === undefined ? undefined : this.#options.keys?.open(record.sealed_key);
  }

  #start(job: Job, key: string): void {
    if (this.#closed) return;
    const controller = new AbortController();
    job.controller = controller;
    let lastSave = 0;
    const notify = (event: JobEvent): void => {
      for (const listener of job.listeners) listener(event);
    };
    const ticker = setInterval(() => {
      const now = Date.now();
      job.stats.sample(now);
      notify('sample');
      if (now - lastSave >= SAMPLE_MS) {
        lastSave = now;
        void this.#update(job, {}).catch(() => {});
      }
    }, SAMPLE_MS);
    job.run = (async () => {
      await this.#update(job, {
        status: 'running',
        waiting_for_owner: false,
        started_at: job.record.started_at ?? new Date().toISOString(),
      });
      try {
        await runJob({
          record: job.record,
          paths: this.store.paths(job.record.id),
          apiKey: this.#options.apiKey ?? key,
          upstream: this.#options.upstream,
          lanes: this.#lanes,
          stats: job.stats,
          retry: this.#options.retry,
          signal: controller.signal,
          onProgress: () => notify('progress'),
        });
        clearInterval(ticker);
        job.stats.sample(Date.now());
        await this.#finish(job, 'succeeded');
      } catch (error) {
        clearInterval(ticker);
        if (controller.signal.reason === CLOSING) {
          await this.#update(job, {}).catch(() => {});
          return;
        }
        if (controller.signal.reason === CANCELLED) await this.#finish(job, 'cancelled');
        else {
          const code = (error as { code?: unknown } | null)?.code;
          const message = error instanceof Error ? error.message : String(error);
          await this.#finish(job, 'failed', {
            code: typeof code === 'string' ? code : 'ERR_INTERNAL',
            message: redactSecrets(key === '' ? message : message.split(key).join('[REDACTED]')),
          });
        }
      } finally {
        job.run = undefined;
        job.controller = undefined;
        notify('end');
      }
    })();
  }

  async #finish(job: Job, status: JobStatus, error?: JobRecord['error']): Promise<void> {
    await this.#update(job, {
      status,
      finished_at: new Date().toISOString(),
      waiting_for_owner: false,
      ...(error === undefined ? {} : { error }),
    });
  }

  async #update(job: Job, change: Partial<JobRecord>): Promise<void> {
    job.record = { ...job.record, ...change, stats: job.stats.snapshot() };
    await this.store.save(job.record);
  }

  #view(job: Job): JobView {
    const { record, stats } = job;
    const now = Date.now();
    const done = record.status === 'succeeded';
    const total = done ? stats.written : (record.input.records ?? null);
    const throughput = stats.throughput(now);
    const remaining = total === null ? null : Math.max(0, total - stats.written);
    const base = `/v1/jobs/${record.id}`;
    return {
      id: record.id,
      status: record.status,
      created_at: record.created_at,
      started_at: record.started_at ?? null,
      finished_at: record.finished_at ?? null,
      options: record.options,
      input: record.input,
      counts: {
        total,
        read: Math.max(stats.read, stats.written),
        written: stats.written,
        succeeded: stats.succeeded,
        failed: stats.failed,
        retries: stats.retries,
      },
      progress: total === null ? null : total === 0 ? 1 : Math.min(1, stats.written / total),
      throughput_per_sec: throughput,
      eta_seconds:
        remaining === null || record.status !== 'running'
          ? null
          : throughput > 0
            ? Math.ceil(remaining / throughput)
            : null,
      latency_ms: stats.latency(),
      errors_by_code: stats.errorsByCode(),
      waiting_for_owner: record.waiting_for_owner === true,
      ...(record.waiting_for_owner === true
        ? {
            note: 'interrupted by a gateway restart; it resumes when its owner next calls the API (the gateway keeps no key for it)',
          }
        : {}),
      error: record.error ?? null,
      links: {
        self: base,
        results: `${base}/results`,
        errors: `${base}/errors`,
        events: `${base}/events`,
        cancel: `${base}/cancel`,
        retry_failed: `${base}/retry-failed`,
      },
    };
  }
}

/** The statistics of a job that has not run yet. */
export function emptyStats(): JobRecord['stats'] {
  return { written: 0, succeeded: 0, failed: 0, retries: 0, errors_by_code: {} };
}
