/**
 * How a sink frames its records: `ndjson` (one JSON line each), `json` (one JSON array, written
 * incrementally) or `csv` (a header row, then one row each).
 * @category sinks
 */
export type SinkFormat = 'ndjson' | 'json' | 'csv';

/** Every {@link SinkFormat}, for validation and help texts. */
export const SINK_FORMATS: readonly SinkFormat[] = Object.freeze(['ndjson', 'json', 'csv']);
