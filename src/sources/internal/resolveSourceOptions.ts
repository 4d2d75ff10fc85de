import { checkInteger, checkOneOf, checkSignal, checkString } from '../../internal/checkOption.js';
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
  if (idField !== undefined) checkString('idField', idField);
  const skip = checkInteger('skip', options?.skip ?? SOURCE_DEFAULTS.skip, 0);
  const signal = checkSignal(options?.signal);
  return { idField, skip, signal };
}

/** Throws unless `format` is one of SOURCE_FORMATS. */
export function checkFormat(format: unknown): SourceFormat {
  return checkOneOf('format', format, SOURCE_FORMATS);
}
