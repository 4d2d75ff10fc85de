import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { DifyUploadedFile } from '../dify/DifyClient.js';
import { checkFunction, checkInteger } from '../internal/checkOption.js';
import { WaitQueue } from '../internal/WaitQueue.js';

/** Uploads one file from disk; `DifyClient#uploadFile` bound to the run's user is the real one. */
export type UploadFileFn = (
  path: string,
  options: { readonly filename: string; readonly signal: AbortSignal | undefined },
) => Promise<DifyUploadedFile>;

/**
 * Where uploads are remembered across runs (a resumed run does not upload again).
 * {@link FileUploadLog} keeps them in a file.
 */
export interface UploadStore {
  get(key: string): DifyUploadedFile | undefined;
  /** Called once per new upload, before any record uses it; a rejection fails that record's attempt. */
  remember(key: string, file: DifyUploadedFile): Promise<void>;
}

/** Options of {@link FileUploads}. */
export interface FileUploadsOptions {
  readonly upload: UploadFileFn;
  /** Uploads in flight at most (the run's concurrency bounds it). @defaultValue 4 */
  readonly concurrency?: number;
  /** Uploads of earlier runs. @defaultValue undefined (nothing remembered beyond this run) */
  readonly store?: UploadStore | undefined;
}

/** Defaults of {@link FileUploadsOptions}. */
export const FILE_UPLOADS_DEFAULTS = Object.freeze({ concurrency: 4 });

/**
 * Uploads each distinct file once per run: keyed by content hash (SHA-256, streamed) and name, so a
 * file named by 1,000 records is uploaded once, and two copies of it under one name are too.
 *
 * @remarks
 * - The name is part of the key because Dify stores it with the upload and a workflow sees it
 *   (`file.filename`): the same bytes under two names are two uploads.
 * - Uploads run under their own limit (`concurrency`); callers waiting for the same file share one
 *   upload. A failed upload is forgotten, so the caller's retry (callDify's, with the run's policy)
 *   uploads again; Dify's 413/415 are not retryable and fail the record.
 * - Hashes are cached by path, size and mtime: a file is read once for its hash, once for its upload.
 * @category files
 */
export class FileUploads {
  readonly #upload: UploadFileFn;
  readonly #store: UploadStore | undefined;
  readonly #limit: number;
  readonly #hashes = new Map<string, Promise<string>>();
  readonly #uploads = new Map<string, Promise<DifyUploadedFile>>();
  readonly #slots = new WaitQueue<void>();
  #active = 0;
  /** Uploads this run made (successful ones). */
  uploaded = 0;
  /** Uploads reused from the store (earlier runs). */
  reused = 0;

  constructor(options: FileUploadsOptions) {
    checkFunction('upload', options.upload);
    const limit = checkInteger(
      'files.concurrency',
      options.concurrency ?? FILE_UPLOADS_DEFAULTS.concurrency,
      1,
    );
    this.#upload = options.upload;
    this.#store = options.store;
    this.#limit = limit;
  }

  /** The upload of the file at `path` (`size` and `mtimeMs` from its stat), uploading it if needed. */
  async uploadOnce(
    path: string,
    stat: { readonly size: number; readonly mtimeMs: number },
    filename: string,
    signal: AbortSignal | undefined,
  ): Promise<DifyUploadedFile> {
    const hash = await this.#hash(path, stat);
    const key = `sha256:${hash}:${filename}`;
    const known = this.#store?.get(key);
    if (known !== undefined) {
      this.reused++;
      return known;
    }
    let pending = this.#uploads.get(key);
    if (pending === undefined) {
      pending = this.#limited(async () => {
        const file = await this.#upload(path, { filename, signal });
        this.uploaded++;
        await this.#store?.remember(key, file);
        return file;
      }, signal);
      this.#uploads.set(key, pending);
      // Forgotten on failure so a retry uploads again; an abort of the first caller fails only it.
      pending.catch(() => {
        if (this.#uploads.get(key) === pending) this.#uploads.delete(key);
      });
    }
    return pending;
  }

  #hash(path: string, stat: { readonly size: number; readonly mtimeMs: number }): Promise<string> {
    const cacheKey = `${path}\0${stat.size}\0${stat.mtimeMs}`;
    let hash = this.#hashes.get(cacheKey);
    if (hash === undefined) {
      const h = createHash('sha256');
      hash = pipeline(createReadStream(path), h).then(() => h.digest('hex'));
      this.#hashes.set(cacheKey, hash);
      hash.catch(() => this.#hashes.delete(cacheKey));
    }
    return hash;
  }

  async #limited<T>(task: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    signal?.throwIfAborted();
    // A caller aborted while it waits leaves the queue at once (WaitQueue), not when a slot frees.
    if (this.#active < this.#limit) this.#active++;
    else await this.#slots.wait(signal);
    try {
      return await task();
    } finally {
      // The slot passes straight to the longest waiter, so no newcomer can overtake it.
      if (!this.#slots.resolveNext()) this.#active--;
    }
  }
}
