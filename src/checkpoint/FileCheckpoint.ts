import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { DifyBatchError } from '../core/DifyBatchError.js';
import type { ItemResult } from '../core/ItemResult.js';
import { checkNumber } from '../internal/checkOption.js';
import type { CheckpointPoint, RunCheckpoint } from '../pipeline/RunCheckpoint.js';
import type { InputFingerprint } from './fingerprintInput.js';
import { writeFileAtomic } from './internal/writeFileAtomic.js';

/** A sink file as the checkpoint records it. */
export interface CheckpointFile {
  readonly path: string;
  readonly format: string;
  /** Bytes of complete, acknowledged records: a resume cuts the file back to this length. */
  readonly bytes: number;
}

/**
 * The content of `<output>.checkpoint.json`.
 * @category checkpoint
 */
export interface CheckpointRecord {
  readonly version: 1;
  readonly updatedAt: string;
  /** The run finished with every record done (then `--resume` has nothing left to do). */
  readonly complete: boolean;
  readonly input: InputFingerprint;
  /** The options that shape results (app, response mode, fields, user, format, ordering). */
  readonly options: Readonly<Record<string, string | number | boolean | null>>;
  readonly output: CheckpointFile;
  readonly deadLetter: CheckpointFile | null;
  /** Every item with a smaller `seq` has its result (and dead-letter entry) written. */
  readonly nextSeq: number;
  /** Results written in total (every run of this output). */
  readonly written: number;
  /** Of those, failed ones. */
  readonly failed: number;
  /** Where the input continues: lines and bytes before item `nextSeq`. */
  readonly inputLine: number;
  readonly inputOffset: number;
}

/** What a crashed run's journal holds for items at or after the checkpoint. */
export interface JournalContents {
  /** Completed results, by `seq`. */
  readonly results: Map<number, ItemResult>;
  /** Streaming workflow runs that started but whose result was not journaled, by `seq`. */
  readonly runIds: Map<number, { readonly id: string; readonly workflowRunId: string }>;
}

/**
 * Options of {@link FileCheckpoint.open}.
 * @category checkpoint
 */
export interface FileCheckpointOptions {
  /** The checkpoint file. @defaultValue `<output>.checkpoint.json` ({@link checkpointPaths}) */
  readonly path?: string | undefined;
  /** The journal file. @defaultValue `<output>.journal.ndjson` */
  readonly journalPath?: string | undefined;
  /** What the run is: input fingerprint, result-shaping options, sink files (their `bytes` are the start). */
  readonly header: Omit<CheckpointRecord, 'version' | 'updatedAt' | 'complete'>;
  /** Results and run ids of a crashed run (from {@link FileCheckpoint.readJournal}), kept in the new journal. */
  readonly recovered?: JournalContents | undefined;
  /** Items past `nextSeq` already in the output (an unordered run); see RunCheckpoint.alreadyWritten. */
  readonly alreadyWritten?: ReadonlySet<number> | undefined;
  /** Saves at most this often, except the final one. @defaultValue `200` */
  readonly minIntervalMs?: number | undefined;
}

/** Defaults of {@link FileCheckpointOptions}. */
export const FILE_CHECKPOINT_DEFAULTS = Object.freeze({ minIntervalMs: 200 });

/** The sidecar files of an output: `<output>.checkpoint.json` and `<output>.journal.ndjson`. */
export function checkpointPaths(output: string): { readonly checkpoint: string; readonly journal: string } {
  return { checkpoint: `${output}.checkpoint.json`, journal: `${output}.journal.ndjson` };
}

/** Compact the journal once this many lines were appended since the last compaction (and ≥ 4× pending). */
const COMPACT_AFTER_LINES = 4096;

/**
 * The file {@link RunCheckpoint}: a JSON sidecar rewritten atomically (temp, fsync, rename, fsync of
 * the directory) at batch boundaries, at most every `minIntervalMs` and always at the end, plus an
 * append-only NDJSON journal of completed results, fsynced with each save.
 *
 * @remarks
 * - Every result is appended to the journal as it completes (one `write(2)`, so it survives SIGKILL
 *   at once), which is why a crash costs only the calls that were in flight: on resume the journal's
 *   results at or after `nextSeq` are fed back instead of calling Dify again.
 * - The journal is compacted (rewritten atomically with only the entries at or after `nextSeq`)
 *   when it has grown well past what is pending, so it stays O(window) on disk and in memory.
 * - A save first syncs the sinks (`point.syncSinks`), so the recorded offsets never point past bytes
 *   a power loss could take back.
 * @category checkpoint
 */
export class FileCheckpoint implements RunCheckpoint {
  readonly recovered: ReadonlyMap<number, ItemResult> | undefined;
  readonly alreadyWritten: ReadonlySet<number> | undefined;
  readonly #path: string;
  readonly #journalPath: string;
  readonly #header: Omit<CheckpointRecord, 'version' | 'updatedAt' | 'complete'>;
  readonly #minIntervalMs: number;
  /** Journal lines of items not yet under the watermark, by seq (what a compaction keeps). */
  readonly #pending = new Map<number, string>();
  #fd: number | undefined;
  #linesSinceCompact = 0;
  #lastSaveAt = Number.NEGATIVE_INFINITY;
  #last: CheckpointRecord | undefined;

  private constructor(options: FileCheckpointOptions, path: string, journalPath: string) {
    this.#path = path;
    this.#journalPath = journalPath;
    this.#header = options.header;
    this.#minIntervalMs = options.minIntervalMs ?? FILE_CHECKPOINT_DEFAULTS.minIntervalMs;
    const results = options.recovered?.results;
    this.recovered = results !== undefined && results.size > 0 ? results : undefined;
    const written = options.alreadyWritten;
    this.alreadyWritten = written !== undefined && written.size > 0 ? written : undefined;
    for (const [seq, result] of results ?? []) this.#pending.set(seq, journalLine(seq, { result }));
    for (const [seq, run] of options.recovered?.runIds ?? []) {
      if (!this.#pending.has(seq)) this.#pending.set(seq, journalLine(seq, run));
    }
  }

  /**
   * Starts a checkpoint: writes the sidecar (so even a crash before the first result leaves one) and
   * a fresh journal holding the recovered entries.
   * @throws DifyBatchError (ERR_CHECKPOINT) when a file cannot be written; InvalidOptionError
   *   (ERR_INVALID_OPTION) for a bad `minIntervalMs`, before any file is touched.
   */
  static async open(options: FileCheckpointOptions): Promise<FileCheckpoint> {
    checkNumber('minIntervalMs', options.minIntervalMs ?? FILE_CHECKPOINT_DEFAULTS.minIntervalMs, 0);
    const paths = checkpointPaths(options.header.output.path);
    const checkpoint = new FileCheckpoint(
      options,
      options.path ?? paths.checkpoint,
      options.journalPath ?? paths.journal,
    );
    await guard('write', checkpoint.#path, async () => {
      await checkpoint.#compact();
      await checkpoint.#write(options.header);
    });
    return checkpoint;
  }

  /** Reads a checkpoint file; `undefined` when there is none. Throws ERR_CHECKPOINT for an unreadable one. */
  static async load(path: string): Promise<CheckpointRecord | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw checkpointError('read', path, error);
    }
    let record: CheckpointRecord;
    try {
      record = JSON.parse(text) as CheckpointRecord;
    } catch (error) {
      throw checkpointError('parse', path, error);
    }
    if (record?.version !== 1 || !Number.isSafeInteger(record.nextSeq)) {
      throw checkpointError('read', path, new Error('not a dify-batch checkpoint (version 1)'));
    }
    return record;
  }

  /**
   * Reads a journal: the results and started run ids of items at or after `nextSeq`. A torn last
   * line (the crash hit mid-write) is ignored; a missing journal is empty.
   */
  static async readJournal(path: string, nextSeq: number): Promise<JournalContents> {
    const results = new Map<number, ItemResult>();
    const runIds: JournalContents['runIds'] = new Map();
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw checkpointError('read', path, error);
    }
    for (const line of text.split('\n')) {
      let entry: { seq?: unknown; id?: unknown; result?: ItemResult; workflowRunId?: unknown };
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof entry?.seq !== 'number' || entry.seq < nextSeq) continue;
      if (entry.result !== undefined) results.set(entry.seq, entry.result);
      else if (typeof entry.workflowRunId === 'string' && typeof entry.id === 'string') {
        runIds.set(entry.seq, { id: entry.id, workflowRunId: entry.workflowRunId });
      }
    }
    for (const seq of results.keys()) runIds.delete(seq);
    return { results, runIds };
  }

  /** The last record written. */
  get current(): CheckpointRecord | undefined {
    return this.#last;
  }

  journal(result: ItemResult): void {
    if (this.#pending.has(result.seq) && this.recovered?.has(result.seq)) return;
    this.#append(result.seq, journalLine(result.seq, { result }));
  }

  journalRunId(seq: number, id: string, workflowRunId: string): void {
    this.#append(seq, journalLine(seq, { id, workflowRunId }));
  }

  async save(point: CheckpointPoint): Promise<void> {
    const now = performance.now();
    if (!point.final && now - this.#lastSaveAt < this.#minIntervalMs) return;
    this.#lastSaveAt = now;
    const base = this.#header;
    const mark = point.watermarks[0];
    const nextSeq = mark === undefined ? base.nextSeq : mark.seq + 1;
    await guard('write', this.#path, async () => {
      await point.syncSinks();
      if (this.#fd !== undefined) fsyncSync(this.#fd);
      await this.#write({
        ...base,
        output: { ...base.output, bytes: point.outputBytes ?? base.output.bytes },
        deadLetter:
          base.deadLetter === null
            ? null
            : { ...base.deadLetter, bytes: point.deadLetterBytes ?? base.deadLetter.bytes },
        nextSeq,
        written: base.written + point.written,
        failed: base.failed + point.failed,
        inputLine: mark?.position?.line ?? base.inputLine,
        inputOffset: mark?.position?.offset ?? base.inputOffset,
      });
      for (const seq of this.#pending.keys()) if (seq < nextSeq) this.#pending.delete(seq);
      if (this.#linesSinceCompact > COMPACT_AFTER_LINES && this.#linesSinceCompact > 4 * this.#pending.size) {
        await this.#compact();
      }
    });
  }

  /**
   * Adds fields to the recorded input fingerprint (the prefix hash of a run that stopped on an
   * unreadable record) and rewrites the checkpoint.
   */
  async annotateInput(extra: Pick<InputFingerprint, 'prefixBytes' | 'prefixSha256'>): Promise<void> {
    const last = this.#last;
    if (last === undefined) return;
    const { version: _v, updatedAt: _u, complete: _c, ...record } = last;
    await guard('write', this.#path, () => this.#write({ ...record, input: { ...record.input, ...extra } }));
  }

  /** Closes the journal; the files stay (a later `--resume` reads them). Idempotent. */
  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  /**
   * The run finished with every record done: marks the checkpoint `complete` (so a `--resume` that
   * comes after, even one racing a kill at the very end, knows there is nothing left) and deletes
   * the journal. Call after the final save.
   */
  async complete(): Promise<void> {
    this.close();
    const last = this.#last;
    await guard('write', this.#path, async () => {
      if (last !== undefined) {
        const { version: _v, updatedAt: _u, complete: _c, ...record } = last;
        await this.#write(record, true);
      }
      await rm(this.#journalPath, { force: true });
    });
  }

  #append(seq: number, line: string): void {
    if (this.#fd === undefined) return;
    this.#pending.set(seq, line);
    this.#linesSinceCompact++;
    try {
      writeSync(this.#fd, line);
    } catch (error) {
      throw checkpointError('write', this.#journalPath, error);
    }
  }

  async #write(
    record: Omit<CheckpointRecord, 'version' | 'updatedAt' | 'complete'>,
    complete = false,
  ): Promise<void> {
    const full: CheckpointRecord = { version: 1, updatedAt: new Date().toISOString(), complete, ...record };
    await writeFileAtomic(this.#path, `${JSON.stringify(full, null, 2)}\n`);
    this.#last = full;
  }

  /** Rewrites the journal with only the pending entries, then appends to the new file. */
  async #compact(): Promise<void> {
    this.close();
    await writeFileAtomic(this.#journalPath, [...this.#pending.values()].join(''));
    this.#fd = openSync(this.#journalPath, 'a');
    this.#linesSinceCompact = 0;
  }
}

function journalLine(
  seq: number,
  entry: { result?: ItemResult; id?: string; workflowRunId?: string },
): string {
  return `${JSON.stringify({ seq, ...entry })}\n`;
}

function checkpointError(action: string, path: string, cause: unknown): DifyBatchError {
  if (cause instanceof DifyBatchError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new DifyBatchError('ERR_CHECKPOINT', `cannot ${action} checkpoint ${path}: ${message}`, { cause });
}

async function guard(action: string, path: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    throw checkpointError(action, path, error);
  }
}
