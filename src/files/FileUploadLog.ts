import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../checkpoint/internal/writeFileAtomic.js';
import { DifyBatchError } from '../core/DifyBatchError.js';
import type { DifyUploadedFile } from '../dify/DifyClient.js';
import type { UploadStore } from './FileUploads.js';

/**
 * The uploads of a run, kept in a JSON file beside its checkpoint (`<output>.uploads.json`:
 * `{ "version": 1, "uploads": { "<sha256:hash:name>": { id, name, size, extension, mimeType } } }`)
 * and rewritten atomically after each new upload, so a resumed run (`--resume`, even after
 * SIGKILL) reuses every file Dify already has instead of uploading it again.
 * @category files
 */
export class FileUploadLog implements UploadStore {
  readonly path: string;
  readonly #uploads: Map<string, DifyUploadedFile>;
  #writing: Promise<void> = Promise.resolve();

  private constructor(path: string, uploads: Map<string, DifyUploadedFile>) {
    this.path = path;
    this.#uploads = uploads;
  }

  /** The sidecar path of an output file. */
  static pathFor(output: string): string {
    return `${output}.uploads.json`;
  }

  /**
   * Opens the log at `path`: with `resume`, the uploads it holds are kept; otherwise it starts empty.
   * @throws DifyBatchError (ERR_CHECKPOINT) when an existing log cannot be read.
   */
  static async open(path: string, resume: boolean): Promise<FileUploadLog> {
    const uploads = new Map<string, DifyUploadedFile>();
    if (resume) {
      let text: string | undefined;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(path, error);
      }
      if (text !== undefined) {
        try {
          const parsed = JSON.parse(text) as { uploads?: Record<string, DifyUploadedFile> };
          for (const [key, file] of Object.entries(parsed.uploads ?? {})) uploads.set(key, file);
        } catch (error) {
          throw unreadable(path, error);
        }
      }
    }
    return new FileUploadLog(path, uploads);
  }

  get size(): number {
    return this.#uploads.size;
  }

  get(key: string): DifyUploadedFile | undefined {
    return this.#uploads.get(key);
  }

  remember(key: string, file: DifyUploadedFile): Promise<void> {
    this.#uploads.set(key, file);
    // Serialised: each write carries every upload so far, and the last one wins.
    const text = `${JSON.stringify({ version: 1, uploads: Object.fromEntries(this.#uploads) })}\n`;
    this.#writing = this.#writing.catch(() => {}).then(() => writeFileAtomic(this.path, text));
    return this.#writing.catch((error: unknown) => {
      throw new DifyBatchError(
        'ERR_CHECKPOINT',
        `Saving the upload log ${this.path} failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    });
  }
}

function unreadable(path: string, error: unknown): DifyBatchError {
  const reason = error instanceof Error ? error.message : String(error);
  return new DifyBatchError('ERR_CHECKPOINT', `cannot read the upload log ${path}: ${reason}`, {
    cause: error,
  });
}
