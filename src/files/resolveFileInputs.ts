import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { type Agent, request } from 'undici';
import { DifyApiError } from '../core/DifyApiError.js';
import { DifyBatchError } from '../core/DifyBatchError.js';
import { type DifyFileType, fileTypeOf } from '../dify/fileTypeOf.js';
import type { FileUploads } from './FileUploads.js';
import { RemoteHostAllowList } from './RemoteHostAllowList.js';
import type { FileSizeLimits, FileVariable, FileVariables } from './readFileVariables.js';

/** Options of {@link resolveFileInputs}. */
export interface ResolveFileInputsOptions {
  /** The app's file variables and size limits ({@link readFileVariables} of `GET /parameters`). */
  readonly files: FileVariables;
  /** Relative paths are resolved against this folder. */
  readonly root: string;
  /** Download `http(s)://` files and upload them, instead of passing them as `remote_url`. @defaultValue false */
  readonly uploadRemote?: boolean | undefined;
  /**
   * With `uploadRemote`, the hosts that may be fetched from whatever they resolve to; any other host must
   * resolve to public addresses only (see {@link RemoteHostAllowList}).
   * @defaultValue `new RemoteHostAllowList()` (public addresses only)
   */
  readonly allowHosts?: RemoteHostAllowList | undefined;
  readonly uploads: FileUploads;
}

/** A file named by a record, before it is checked. */
type FileRef =
  | { readonly kind: 'local'; readonly path: string; readonly shown: string }
  | { readonly kind: 'remote'; readonly url: string }
  | { readonly kind: 'object'; readonly value: Record<string, unknown> };

/** A checked file, ready to send. */
type Checked =
  | {
      readonly kind: 'local';
      readonly path: string;
      readonly shown: string;
      readonly type: DifyFileType;
      readonly size: number;
      readonly mtimeMs: number;
    }
  | {
      readonly kind: 'remote';
      readonly url: string;
      readonly type: DifyFileType;
      /** Set when dify-batch downloads it (uploadRemote): connects only to the addresses checked. */
      readonly dispatcher: Agent | undefined;
    }
  | { readonly kind: 'object'; readonly value: Record<string, unknown> };

/** Public addresses only: the allow-list when the caller gives none. */
const PUBLIC_ONLY = new RemoteHostAllowList();

const LIMIT_NAMES: Readonly<Record<keyof FileSizeLimits, string>> = {
  document: 'file_size_limit',
  image: 'image_file_size_limit',
  audio: 'audio_file_size_limit',
  video: 'video_file_size_limit',
};

function invalid(variable: FileVariable, message: string): DifyBatchError {
  return new DifyBatchError('ERR_INPUT_INVALID', `field "${variable.name}": ${message}`);
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** The files a record value names: one for `file`, any number for `file-list` (array or `a;b`). */
function refsOf(variable: FileVariable, value: unknown, root: string): FileRef[] {
  let values: unknown[];
  if (variable.kind === 'file') {
    values = [value];
  } else if (Array.isArray(value)) {
    values = value;
  } else if (typeof value === 'string') {
    values = value
      .split(';')
      .map((part) => part.trim())
      .filter((part) => part !== '');
  } else {
    throw invalid(variable, `a file-list takes an array or a ";"-separated string, got ${typeof value}`);
  }
  if (variable.maxFiles !== undefined && values.length > variable.maxFiles) {
    throw invalid(variable, `${values.length} files, more than the variable's ${variable.maxFiles}`);
  }
  return values.map((v) => refOf(variable, v, root));
}

function refOf(variable: FileVariable, value: unknown, root: string): FileRef {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    if ('transfer_method' in value) return { kind: 'object', value: value as Record<string, unknown> };
    throw invalid(variable, 'an object must be a Dify file object (with "transfer_method")');
  }
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalid(variable, `expected a path, a URL or a Dify file object, got ${JSON.stringify(value)}`);
  }
  const text = value.trim();
  if (/^https?:\/\//i.test(text)) return { kind: 'remote', url: text };
  if (/^file:\/\//i.test(text)) {
    try {
      return { kind: 'local', path: fileURLToPath(text), shown: text };
    } catch (error) {
      throw invalid(variable, `bad file URL ${text}: ${(error as Error).message}`);
    }
  }
  return { kind: 'local', path: isAbsolute(text) ? text : resolve(root, text), shown: text };
}

/** Dify's `_is_file_valid_with_config`, plus the method check; `undefined` when allowed. */
function refusal(
  variable: FileVariable,
  type: DifyFileType,
  extension: string,
  method: string,
): string | undefined {
  const ext = extension.toLowerCase();
  if (type !== 'custom' && variable.allowedTypes.length > 0 && !variable.allowedTypes.includes(type)) {
    // A type not listed still passes as `custom` when the variable allows custom files of this extension.
    if (!(variable.allowedTypes.includes('custom') && variable.allowedExtensions.includes(ext))) {
      return `is ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type} file; the variable allows ${variable.allowedTypes.join(', ')}`;
    }
  }
  if (type === 'custom' && !variable.allowedExtensions.includes(ext)) {
    return `has extension "${ext || '(none)'}", which Dify does not classify (custom) and the variable does not allow (allowed_file_extensions: ${variable.allowedExtensions.join(', ') || 'none'})`;
  }
  if (variable.allowedMethods.length > 0 && !variable.allowedMethods.includes(method as 'local_file')) {
    return `would be sent as ${method}; the variable allows ${variable.allowedMethods.join(', ')}`;
  }
  return undefined;
}

/** The type to declare: Dify's own, or `custom` when only an allowed custom extension admits it. */
function declaredType(variable: FileVariable, type: DifyFileType, extension: string): DifyFileType {
  if (type === 'custom' || variable.allowedTypes.length === 0 || variable.allowedTypes.includes(type))
    return type;
  return variable.allowedExtensions.includes(extension.toLowerCase()) ? 'custom' : type;
}

function sizeLimitOf(limits: FileSizeLimits, type: DifyFileType): [number, string] {
  const key: keyof FileSizeLimits = type === 'custom' ? 'document' : type;
  return [limits[key], LIMIT_NAMES[key]];
}

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} MB`;

async function check(
  variable: FileVariable,
  ref: FileRef,
  o: ResolveFileInputsOptions,
  signal: AbortSignal | undefined,
): Promise<Checked> {
  if (ref.kind === 'object') return ref;
  if (ref.kind === 'remote') {
    const extension = extname(new URL(ref.url).pathname);
    const type = fileTypeOf(extension);
    const upload = o.uploadRemote === true;
    if (!upload && variable.allowedMethods.length > 0 && !variable.allowedMethods.includes('remote_url')) {
      throw invalid(
        variable,
        `${ref.url}: the variable does not take URLs (allowed: ${variable.allowedMethods.join(', ')}); --upload-remote downloads and uploads it`,
      );
    }
    const refused = refusal(variable, type, extension, upload ? 'local_file' : 'remote_url');
    if (refused !== undefined) throw invalid(variable, `${ref.url} ${refused}`);
    // Without uploadRemote nothing is fetched here: Dify fetches remote_url itself (through its SSRF proxy).
    const dispatcher = upload ? await allowedDispatcher(variable, ref.url, o, signal) : undefined;
    return { kind: 'remote', url: ref.url, type: declaredType(variable, type, extension), dispatcher };
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(ref.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? (error as Error).message})`;
    throw invalid(variable, `file ${ref.shown} ${why} (looked at ${ref.path})`);
  }
  if (!info.isFile()) throw invalid(variable, `${ref.shown} is not a file (${ref.path})`);
  const extension = extname(ref.path);
  const type = fileTypeOf(extension);
  const refused = refusal(variable, type, extension, 'local_file');
  if (refused !== undefined) throw invalid(variable, `file ${ref.shown} ${refused}`);
  const [limit, limitName] = sizeLimitOf(o.files.sizeLimits, type);
  if (info.size > limit) {
    throw invalid(
      variable,
      `file ${ref.shown} is ${megabytes(info.size)}, over Dify's ${limitName} of ${megabytes(limit)} for ${type} files`,
    );
  }
  return {
    kind: 'local',
    path: ref.path,
    shown: ref.shown,
    type: declaredType(variable, type, extension),
    size: info.size,
    mtimeMs: info.mtimeMs,
  };
}

/** The allow-list's decision for a URL dify-batch would download: refused, it fails the record (final). */
async function allowedDispatcher(
  variable: FileVariable,
  url: string,
  o: ResolveFileInputsOptions,
  signal: AbortSignal | undefined,
): Promise<Agent> {
  let decision: Awaited<ReturnType<RemoteHostAllowList['decide']>>;
  try {
    decision = await (o.allowHosts ?? PUBLIC_ONLY).decide(new URL(url), signal);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    // A name that does not resolve may resolve later: retryable, like a download's network error.
    throw new DifyBatchError(
      'ERR_INPUT_INVALID',
      `field "${variable.name}": downloading ${url} failed: ${error instanceof Error ? error.message : String(error)}`,
      { retryable: true, cause: error },
    );
  }
  if (!decision.allowed) throw invalid(variable, `downloading ${url} refused: ${decision.reason}`);
  return decision.dispatcher;
}

/**
 * Downloads `url` into a fresh temporary folder (streamed to disk), keeping its base name. Its
 * failures are the record's, never Dify's (the circuit breaker must not take a third-party host being
 * down for a Dify outage): `ERR_INPUT_INVALID`, retryable for network errors, 429 and 5xx.
 */
async function download(
  variable: FileVariable,
  url: string,
  dispatcher: Agent,
  signal: AbortSignal | undefined,
): Promise<string> {
  const failed = (reason: string, retryable: boolean, cause?: unknown) =>
    new DifyBatchError(
      'ERR_INPUT_INVALID',
      `field "${variable.name}": downloading ${url} failed: ${reason}`,
      {
        retryable,
        cause,
      },
    );
  let dir: string | undefined;
  try {
    // No redirects followed: a 3xx fails the download, naming the status.
    const response = await request(url, { method: 'GET', dispatcher, ...(signal ? { signal } : {}) });
    const status = response.statusCode;
    if (status < 200 || status >= 300) {
      await response.body.dump();
      throw failed(`HTTP ${status}`, status >= 500 || status === 429);
    }
    dir = await mkdtemp(join(tmpdir(), 'dify-batch-'));
    const path = join(dir, basename(new URL(url).pathname) || 'download');
    await pipeline(response.body, createWriteStream(path));
    return path;
  } catch (error) {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    if (signal?.aborted) throw signal.reason;
    if (error instanceof DifyBatchError) throw error;
    throw failed(error instanceof Error ? error.message : String(error), true, error);
  }
}

/**
 * Turns the file variables of one record's `inputs` into Dify file inputs: local paths and
 * `file://` URLs are uploaded once ({@link FileUploads}) and sent as `local_file`; `http(s)://` URLs
 * go as `remote_url` (or are downloaded and uploaded with `uploadRemote`); Dify file objects pass as
 * they are. Empty values of optional variables are dropped (Dify then uses the default).
 *
 * @remarks Every file of the record is checked first — it exists, its type (as Dify classifies the
 * extension) and transfer method are allowed by the variable, it is within `system_parameters`'
 * size limit — and only then is anything uploaded: a bad file fails the record with
 * `ERR_INPUT_INVALID` naming the field, the file and the rule, before any upload or call.
 * Upload failures reject with the upload's DifyApiError (retryable or not, as for calls). With
 * `uploadRemote`, a URL is downloaded only from a host on `allowHosts` or one resolving to public
 * addresses only ({@link RemoteHostAllowList}); a refused one fails the record (final ERR_INPUT_INVALID).
 * @returns new inputs (the record's own object is not changed)
 * @category files
 */
export async function resolveFileInputs(
  inputs: Readonly<Record<string, unknown>>,
  o: ResolveFileInputsOptions,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const plans: [FileVariable, Checked[]][] = [];
  const out: Record<string, unknown> = { ...inputs };
  try {
    for (const variable of o.files.variables.values()) {
      if (!(variable.name in inputs)) continue;
      const value = inputs[variable.name];
      if (isBlank(value) || (Array.isArray(value) && value.length === 0 && !variable.required)) {
        if (!variable.required) delete out[variable.name];
        continue;
      }
      const refs = refsOf(variable, value, o.root);
      const checked: Checked[] = [];
      plans.push([variable, checked]);
      for (const ref of refs) checked.push(await check(variable, ref, o, signal));
    }
    for (const [variable, checked] of plans) {
      const files: Record<string, unknown>[] = [];
      for (const file of checked) files.push(await send(variable, file, o, signal));
      out[variable.name] = variable.kind === 'file' ? files[0] : files;
    }
    return out;
  } finally {
    // Downloads are over (or never start): release the pinned connections.
    for (const [, checked] of plans) {
      for (const file of checked) if (file.kind === 'remote') await file.dispatcher?.destroy();
    }
  }
}

async function send(
  variable: FileVariable,
  file: Checked,
  o: ResolveFileInputsOptions,
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  if (file.kind === 'object') return file.value;
  if (file.kind === 'remote' && file.dispatcher === undefined) {
    return { type: file.type, transfer_method: 'remote_url', url: file.url };
  }
  if (file.kind === 'local') {
    const uploaded = await o.uploads
      .uploadOnce(file.path, file, basename(file.path), signal)
      .catch((error: unknown) => {
        throw naming(variable, file.shown, error);
      });
    return { type: file.type, transfer_method: 'local_file', upload_file_id: uploaded.id };
  }
  // Only a file to download is left: remote with a dispatcher.
  const path = await download(variable, file.url, file.dispatcher!, signal);
  try {
    const s = await stat(path);
    const [limit, limitName] = sizeLimitOf(o.files.sizeLimits, file.type);
    if (s.size > limit) {
      throw invalid(
        variable,
        `${file.url} is ${megabytes(s.size)}, over Dify's ${limitName} of ${megabytes(limit)} for ${file.type} files`,
      );
    }
    const uploaded = await o.uploads.uploadOnce(path, s, basename(path), signal).catch((error: unknown) => {
      throw naming(variable, file.url, error);
    });
    return { type: file.type, transfer_method: 'local_file', upload_file_id: uploaded.id };
  } finally {
    // The download only lives until Dify has it (a retry downloads again).
    await rm(dirname(path), { recursive: true, force: true });
  }
}

/** An upload's error, its message naming the field and the file (a DifyApiError stays one, for retries). */
function naming(variable: FileVariable, shown: string, error: unknown): unknown {
  if (!(error instanceof DifyApiError)) return error;
  return new DifyApiError({
    code: error.code,
    message: `field "${variable.name}": uploading ${shown} failed: ${error.message}`,
    status: error.status,
    difyCode: error.difyCode,
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
    ambiguous: error.ambiguous,
    cause: error,
  });
}
