import { checkOption } from '../../internal/checkOption.js';
import { SOURCE_FORMATS, type SourceFormat } from '../SourceFormat.js';

const EXTENSIONS: Readonly<Record<string, SourceFormat>> = Object.freeze({
  ndjson: 'ndjson',
  jsonl: 'ndjson',
  json: 'json',
  csv: 'csv',
});

const CONTENT_TYPES: Readonly<Record<string, SourceFormat>> = Object.freeze({
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/json': 'json',
  'text/csv': 'csv',
});

/**
 * The record format a file name's extension says (`.ndjson`/`.jsonl`, `.json`, `.csv`, any case), or
 * `undefined`. The one table for fromFile, fromHttp, toFile, toDeadLetter, `resume` and the gateway's
 * job uploads, so a format one of them reads is a format all of them read.
 */
export function formatOfName(name: string): SourceFormat | undefined {
  const ext = /\.([^./\\]+)$/.exec(name)?.[1]?.toLowerCase();
  return ext === undefined ? undefined : EXTENSIONS[ext];
}

/**
 * The record format `path`'s extension says, a trailing `.gz` aside (fromFile, toFile: no `format`
 * option given).
 * @throws InvalidOptionError naming `format` when the extension says none
 */
export function checkFormatOfPath(path: string): SourceFormat {
  const format = formatOfName(path.replace(/\.gz$/i, ''));
  const formats = SOURCE_FORMATS.map((f) => `'${f}'`).join(', ');
  checkOption(
    format !== undefined,
    'format',
    `one of ${formats} (the extension of ${JSON.stringify(path)} does not say)`,
    undefined,
  );
  return format as SourceFormat;
}

/** The record format a Content-Type says (its parameters ignored), or `undefined`. */
export function formatOfContentType(contentType: string | undefined): SourceFormat | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type === undefined ? undefined : CONTENT_TYPES[type];
}
