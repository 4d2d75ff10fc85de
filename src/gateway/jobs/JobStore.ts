import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../checkpoint/internal/writeFileAtomic.js';
import type { JobRecord } from './JobRecord.js';

/** The files of one job, all under `<data-dir>/<id>/`. */
export interface JobPaths {
  readonly dir: string;
  readonly record: string;
  /** The input as received (or downloaded), `input.ndjson|csv|json`. */
  readonly input: (format: string) => string;
  /** Results, NDJSON in input order; `results.ndjson.checkpoint.json` and `.journal.ndjson` beside it. */
  readonly results: string;
  /** Dead letters: each failed input record plus `_error`, NDJSON (a re-runnable input). */
  readonly errors: string;
}

/**
 * The jobs' data directory: one folder per job holding job.json (rewritten atomically), the input,
 * the results, the dead letters and the checkpoint — everything a restarted gateway needs.
 */
export class JobStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  /** A new job id: time-ordered (so `ls` lists jobs by age) and unguessable. */
  static newId(now: Date): string {
    return `job_${now.getTime().toString(36)}${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  }

  /** True for what {@link newId} makes: route ids are checked before any path is built from them. */
  static isId(id: string): boolean {
    return /^job_[0-9a-z]{8,12}[0-9a-f]{16}$/.test(id);
  }

  paths(id: string): JobPaths {
    const dir = join(this.#root, id);
    return {
      dir,
      record: join(dir, 'job.json'),
      input: (format) => join(dir, `input.${format}`),
      results: join(dir, 'results.ndjson'),
      errors: join(dir, 'errors.ndjson'),
    };
  }

  async create(id: string): Promise<JobPaths> {
    const paths = this.paths(id);
    await mkdir(paths.dir, { recursive: true });
    return paths;
  }

  async save(record: JobRecord): Promise<void> {
    await writeFileAtomic(this.paths(record.id).record, `${JSON.stringify(record, null, 1)}\n`);
  }

  /** Every job with a readable job.json (a folder without one is a submission cut short: skipped). */
  async loadAll(): Promise<JobRecord[]> {
    const records: JobRecord[] = [];
    // No directory yet: no job was ever submitted (it is created with the first one).
    const names = await readdir(this.#root).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    for (const name of names.sort()) {
      if (!JobStore.isId(name)) continue;
      try {
        records.push(JSON.parse(await readFile(this.paths(name).record, 'utf8')) as JobRecord);
      } catch {
        // No job.json yet: the gateway died while receiving the input; the job was never accepted.
      }
    }
    return records;
  }
}
