import type { DifyFileType } from '../dify/fileTypeOf.js';

/** How Dify may receive a file. */
export type FileTransferMethod = 'local_file' | 'remote_url';

/** One `file` or `file-list` variable of an app's start form. */
export interface FileVariable {
  readonly name: string;
  readonly kind: 'file' | 'file-list';
  readonly required: boolean;
  /** Empty: any type. */
  readonly allowedTypes: readonly DifyFileType[];
  /** For `custom` files: allowed extensions, lower-case with a leading dot. Empty: none. */
  readonly allowedExtensions: readonly string[];
  /** Empty: any method. */
  readonly allowedMethods: readonly FileTransferMethod[];
  /** `file-list`: the most files (Dify's `max_length`), when set. */
  readonly maxFiles: number | undefined;
}

/** The per-type upload size limits, in bytes (from `system_parameters`). */
export interface FileSizeLimits {
  readonly document: number;
  readonly image: number;
  readonly audio: number;
  readonly video: number;
}

/** What {@link readFileVariables} finds in a `/parameters` body. */
export interface FileVariables {
  /** By variable name; empty when the app takes no files. */
  readonly variables: ReadonlyMap<string, FileVariable>;
  readonly sizeLimits: FileSizeLimits;
}

const MB = 1024 * 1024;
// Dify's own defaults (UPLOAD_FILE_SIZE_LIMIT and friends), for a body without system_parameters.
const DEFAULT_LIMITS_MB = { document: 15, image: 10, audio: 50, video: 100 } as const;
const FILE_TYPES: readonly string[] = ['document', 'image', 'audio', 'video', 'custom'];

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function limitMb(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value * MB : fallback * MB;
}

/**
 * Reads the file variables and size limits out of a parsed `GET /parameters` body: each
 * `user_input_form` entry is `{ "<type>": { variable, required, allowed_file_types, … } }`; the
 * limits are `system_parameters.file_size_limit` (documents and custom files),
 * `image_file_size_limit`, `audio_file_size_limit` and `video_file_size_limit`, in MB.
 *
 * @remarks Tolerant by design: entries it does not understand are skipped, missing limits take
 * Dify's defaults (15/10/50/100 MB), so a newer Dify never breaks a run here.
 * @param parameters - the parsed JSON body of `GET /parameters`
 * @example
 * ```ts
 * import { readFileVariables } from 'dify-batch';
 * const { variables } = readFileVariables({
 *   user_input_form: [{ file: { variable: 'doc', required: true, allowed_file_types: ['document'] } }],
 * });
 * console.log(variables.get('doc')?.allowedTypes);
 * // Output: [ 'document' ]
 * ```
 * @category files
 */
export function readFileVariables(parameters: unknown): FileVariables {
  const body = (typeof parameters === 'object' && parameters !== null ? parameters : {}) as Record<
    string,
    unknown
  >;
  const variables = new Map<string, FileVariable>();
  const form = Array.isArray(body.user_input_form) ? body.user_input_form : [];
  for (const entry of form) {
    if (typeof entry !== 'object' || entry === null) continue;
    for (const [type, spec] of Object.entries(entry as Record<string, unknown>)) {
      if (type !== 'file' && type !== 'file-list') continue;
      if (typeof spec !== 'object' || spec === null) continue;
      const s = spec as Record<string, unknown>;
      if (typeof s.variable !== 'string') continue;
      variables.set(s.variable, {
        name: s.variable,
        kind: type,
        required: s.required === true,
        allowedTypes: strings(s.allowed_file_types).filter((t): t is DifyFileType => FILE_TYPES.includes(t)),
        allowedExtensions: strings(s.allowed_file_extensions).map(
          (e) => `.${e.replace(/^\./, '').toLowerCase()}`,
        ),
        allowedMethods: strings(s.allowed_file_upload_methods).filter(
          (m): m is FileTransferMethod => m === 'local_file' || m === 'remote_url',
        ),
        maxFiles: typeof s.max_length === 'number' && s.max_length > 0 ? s.max_length : undefined,
      });
    }
  }
  const sys = (
    typeof body.system_parameters === 'object' && body.system_parameters !== null
      ? body.system_parameters
      : {}
  ) as Record<string, unknown>;
  return {
    variables,
    sizeLimits: {
      document: limitMb(sys.file_size_limit, DEFAULT_LIMITS_MB.document),
      image: limitMb(sys.image_file_size_limit, DEFAULT_LIMITS_MB.image),
      audio: limitMb(sys.audio_file_size_limit, DEFAULT_LIMITS_MB.audio),
      video: limitMb(sys.video_file_size_limit, DEFAULT_LIMITS_MB.video),
    },
  };
}
