import { InvalidOptionError } from '../../core/InvalidOptionError.js';
import { SOURCE_FORMATS, type SourceFormat } from '../SourceFormat.js';
import { SOURCE_DEFAULTS, type SourceOptions } from '../SourceOptions.js';

/** {@link SourceOptions} with defaults applied and every value checked. */
export interface ResolvedSourceOptions {
  readonly idField: string | undefined;
  readonly skip: number;
  readonly signal: AbortSignal | undefined;
}

/**
 * Applies SOURCE_DEFAULTS (the one place they are applied) and validates, so every source rejects
 * bad options synchronously, before anything is opened. Used by fromFile, fromReadable and fromAsyncIterable.
 */
export function resolveSourceOptions(options: Readonly<SourceOptions> | undefined): ResolvedSourceOptions {
  const idField = options?.idField;
  const skip = options?.skip ?? SOURCE_DEFAULTS.skip;
  const signal = options?.signal;
  if (idField !== undefined && (typeof idField !== 'string' || idField === '')) {
    throw new InvalidOptionError('idField', 'a non-empty string', idField);
  }
  if (!Number.isSafeInteger(skip) || skip < 0) {
    throw new InvalidOptionError('skip', 'an integer ≥ 0', skip);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidOptionError('signal', 'an AbortSignal', signal);
  }
  return { idField, skip, signal };
}

/** Throws unless `format` is one of SOURCE_FORMATS. */
export function checkFormat(format: unknown): SourceFormat {
  if (!SOURCE_FORMATS.includes(format as SourceFormat)) {
    throw new InvalidOptionError(
      'format',
      `one of ${SOURCE_FORMATS.map((f) => `'${f}'`).join(', ')}`,
      format,
    );
  }
  return format as SourceFormat;
}
