import { extname } from 'node:path';
import { fileTypeOf } from '../dify/fileTypeOf.js';
import { hashUuid } from './canonicalJson.js';
import { difyHeaders, sendError } from './difyResponses.js';
import type { EmulatedFileInput, UploadFault } from './EmulatorOptions.js';
import type { AppRuntime } from './EmulatorServer.js';
import type { Exchange } from './Exchange.js';
import { pyJson } from './pyJson.js';
import type { UuidSource } from './UuidSource.js';

/** What the emulator keeps of an upload. */
export interface EmulatedUpload {
  readonly id: string;
  readonly appKey: string;
  readonly name: string;
  readonly size: number;
  readonly extension: string;
  readonly mimeType: string;
}

const MB = 1024 * 1024;
/** Dify's UPLOAD_*_FILE_SIZE_LIMIT defaults (MB), also shown by `GET /parameters`. */
export const UPLOAD_LIMITS_MB = Object.freeze({ document: 15, image: 10, audio: 50, video: 100 });

/**
 * `POST /files/upload` as Dify 1.13.2 answers it (controllers/service_api/app/file.py, FileService):
 * 400 `no_file_uploaded`, `too_many_files`, `filename_not_exists_error`, 415 `unsupported_file_type`
 * (a part without a content type), 413 `file_too_large` (over the type's limit), else 201 with the
 * upload. Also the file-input checks of a run, with Dify's messages. Used by `EmulatorServer`.
 */
export class EmulatedUploads {
  readonly byId = new Map<string, EmulatedUpload>();
  /** Uploads accepted (201). */
  accepted = 0;
  /** Uploads being received or answered now, and the most at once. */
  active = 0;
  peakActive = 0;
  readonly #faultsSeen = new Map<string, number>();

  reset(): void {
    this.accepted = 0;
    this.peakActive = this.active;
    this.#faultsSeen.clear();
  }

  /** Handles an upload whose body has arrived; answers asynchronously (multipart parsing). */
  handle(
    ex: Exchange,
    app: AppRuntime,
    ids: UuidSource,
    faults: Readonly<Record<string, UploadFault>>,
    delayMs: number,
  ): void {
    this.active++;
    if (this.active > this.peakActive) this.peakActive = this.active;
    const type = ex.header('content-type') ?? '';
    // The platform's multipart parser (undici's, behind Response#formData): no hand-written parsing.
    new Response(ex.bodyBuffer(), { headers: { 'content-type': type } })
      .formData()
      .then(
        (form) => form,
        () => undefined,
      )
      .then(async (form) => {
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        this.#answer(ex, app, ids, faults, form);
      })
      .finally(() => {
        this.active--;
      });
  }

  #answer(
    ex: Exchange,
    app: AppRuntime,
    ids: UuidSource,
    faults: Readonly<Record<string, UploadFault>>,
    form: FormData | undefined,
  ): void {
    if (form === undefined) {
      sendError(ex, 400, 'no_file_uploaded', 'Please upload your file.');
      return;
    }
    // The upload route's `user` is optional (FetchUserArg required=False): Dify then files the upload
    // under its default end user.
    const field = form.get('user');
    const user = typeof field === 'string' && field !== '' ? field : DEFAULT_USER;
    const files = [...form.entries()].filter(([, value]) => typeof value !== 'string');
    const file = form.get('file');
    if (file === null || typeof file === 'string') {
      sendError(ex, 400, 'no_file_uploaded', 'Please upload your file.');
      return;
    }
    if (files.length > 1) {
      sendError(ex, 400, 'too_many_files', 'Only one file is allowed.');
      return;
    }
    const fault = faults[file.name];
    if (fault !== undefined) {
      const seen = (this.#faultsSeen.get(file.name) ?? 0) + 1;
      this.#faultsSeen.set(file.name, seen);
      if (seen <= (fault.times ?? Number.POSITIVE_INFINITY)) {
        if (fault.kind === 'reset') ex.reset();
        else if (fault.kind === '413') sendError(ex, 413, 'file_too_large', 'File size exceeded. ');
        else sendError(ex, 415, 'unsupported_file_type', 'File type not allowed.');
        return;
      }
    }
    if (file.type === '' || !partHasContentType(ex.bodyBuffer(), ex.header('content-type') ?? '')) {
      sendError(ex, 415, 'unsupported_file_type', 'File type not allowed.');
      return;
    }
    if (file.name === '') {
      sendError(ex, 400, 'filename_not_exists_error', 'The specified filename does not exist.');
      return;
    }
    const extension = extname(file.name).slice(1).toLowerCase();
    const kind = fileTypeOf(extension);
    const limitMb = UPLOAD_LIMITS_MB[kind === 'custom' ? 'document' : kind];
    if (file.size > limitMb * MB) {
      sendError(ex, 413, 'file_too_large', 'File size exceeded. ');
      return;
    }
    const upload: EmulatedUpload = {
      id: ids.next(),
      appKey: app.key,
      name: file.name,
      size: file.size,
      extension,
      mimeType: file.type,
    };
    this.byId.set(upload.id, upload);
    this.accepted++;
    ex.send(
      201,
      difyHeaders(),
      `${pyJson({
        id: upload.id,
        name: upload.name,
        size: upload.size,
        extension: upload.extension,
        mime_type: upload.mimeType,
        // Dify answers the end user's UUID, the same one its runs show.
        created_by: hashUuid(`${app.key}\n${user}`),
        created_at: Math.floor(Date.now() / 1000),
        preview_url: null,
        source_url: '',
        original_url: null,
        user_id: null,
        tenant_id: null,
        conversation_id: null,
        file_key: null,
      })}\n`,
    );
  }

  /**
   * Dify's checks of file inputs (`_validate_inputs`, then the file factory): the first problem's
   * message, or the file objects a run's outputs show, by variable.
   */
  checkInputs(
    app: AppRuntime,
    fileInputs: readonly EmulatedFileInput[],
    inputs: Readonly<Record<string, unknown>>,
  ): { readonly error: string } | { readonly outputs: Record<string, unknown> } {
    const outputs: Record<string, unknown> = {};
    for (const variable of fileInputs) {
      const value = inputs[variable.variable];
      if (value === undefined || value === null) continue;
      if (variable.type === 'file') {
        if (!isDict(value)) return { error: `${variable.variable} in input form must be a file` };
        const file = this.#fileOf(app, value);
        if ('error' in file) return file;
        outputs[variable.variable] = file.file;
      } else {
        if (!Array.isArray(value) || !value.every(isDict)) {
          return { error: `${variable.variable} in input form must be a list of files` };
        }
        const files: Record<string, unknown>[] = [];
        for (const item of value) {
          const file = this.#fileOf(app, item);
          if ('error' in file) return file;
          files.push(file.file);
        }
        outputs[variable.variable] = files;
      }
    }
    return { outputs };
  }

  #fileOf(
    app: AppRuntime,
    mapping: Record<string, unknown>,
  ): { readonly error: string } | { readonly file: Record<string, unknown> } {
    const method = mapping.transfer_method;
    if (method === undefined) return { error: 'transfer_method is required in file mapping' };
    if (method === 'remote_url') {
      const url = mapping.url;
      if (typeof url !== 'string' || !/^https?:\/\//.test(url)) return { error: 'Invalid file url' };
      const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
      return { file: fileObject(mapping.type, name, -1, extname(name), '', 'remote_url', url) };
    }
    if (method !== 'local_file') return { error: `Invalid file transfer method: ${String(method)}` };
    const id = mapping.upload_file_id;
    const upload = typeof id === 'string' ? this.byId.get(id) : undefined;
    if (upload === undefined || upload.appKey !== app.key) return { error: 'Invalid upload file' };
    const detected = fileTypeOf(upload.extension, upload.mimeType);
    if (mapping.type !== 'custom' && mapping.type !== detected) {
      return { error: 'Detected file type does not match the specified type. Please verify the file.' };
    }
    return {
      file: fileObject(
        mapping.type,
        upload.name,
        upload.size,
        `.${upload.extension}`,
        upload.mimeType,
        'local_file',
        null,
        upload.id,
      ),
    };
  }
}

/** Dify's end-user session id for calls without a `user`. */
const DEFAULT_USER = 'DEFAULT-USER';

/**
 * Whether the `file` part carried a Content-Type header: the platform's parser gives a part without
 * one `text/plain`, but Werkzeug gives it no mimetype, and Dify then answers 415.
 */
function partHasContentType(body: Buffer, contentType: string): boolean {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (boundary === undefined) return true;
  for (const part of body.toString('latin1').split(`--${boundary}`)) {
    const end = part.indexOf('\r\n\r\n');
    const head = (end === -1 ? part : part.slice(0, end)).toLowerCase();
    if (/content-disposition:[^\r\n]*\bname="file"/.test(head)) return head.includes('content-type:');
  }
  return true;
}

function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The file object a workflow's End node returns (Dify's File.to_dict, the fields a client reads). */
function fileObject(
  type: unknown,
  filename: string,
  size: number,
  extension: string,
  mimeType: string,
  method: string,
  url: string | null,
  relatedId: string | null = null,
): Record<string, unknown> {
  return {
    dify_model_identity: '__dify__file__',
    id: null,
    type,
    transfer_method: method,
    remote_url: url,
    related_id: relatedId,
    filename,
    extension,
    mime_type: mimeType,
    size,
    url,
  };
}
