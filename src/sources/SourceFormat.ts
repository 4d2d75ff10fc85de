/**
 * How a byte stream of records is framed.
 * - `ndjson`: one JSON object a line (`.ndjson`, `.jsonl`); blank lines are skipped.
 * - `json`: one top-level JSON array of objects (`.json`), streamed element by element.
 * - `csv`: a header row, then one record a row (`.csv`); values stay strings.
 * @category sources
 */
export type SourceFormat = 'ndjson' | 'json' | 'csv';

/** Every {@link SourceFormat}, for validation and help texts. */
export const SOURCE_FORMATS: readonly SourceFormat[] = Object.freeze(['ndjson', 'json', 'csv']);
