/** What a record read back from a dead-letter file stands for. */
export type DeadLetterRecord =
  /** A record that never parsed: its original text, and the error it got then (when known). */
  | { readonly raw: string; readonly firstError: string | undefined }
  /** A record that parsed: the original fields, `_error` removed (CSV's `_error.extra` put back). */
  | { readonly raw?: undefined; readonly inputs: Record<string, unknown> };

/**
 * Undoes what toDeadLetter added to a record, so that a dead-letter file fed back as input re-runs
 * exactly the original records. Called by createItemizer only for records with an own `_error` or
 * `_raw` key (keys the pipeline reserves: they are never sent to Dify).
 *
 * @remarks
 * toDeadLetter writes `{ ...record, _error: {...} }`; for a record that never parsed, `{ _raw, _error }`
 * in NDJSON and JSON, and in CSV an `_error` column of JSON holding `raw` (the text) and `extra` (fields
 * outside the CSV's columns). A `_raw` text (either place) means the record must stay a parse failure:
 * sending the empty rest would call Dify with `{}` and report a success for a record that never was.
 */
export function readDeadLetterEntry(record: Record<string, unknown>): DeadLetterRecord {
  const { _error: stored, _raw: rawField, ...rest } = record;
  const error = errorObject(stored);
  const raw =
    typeof rawField === 'string' ? rawField : typeof error?.raw === 'string' ? error.raw : undefined;
  if (raw !== undefined) {
    return { raw, firstError: typeof error?.message === 'string' ? error.message : undefined };
  }
  if (rawField !== undefined) rest._raw = rawField;
  const extra = error?.extra;
  const isPlainObject = typeof extra === 'object' && extra !== null && !Array.isArray(extra);
  // Spread, not assignment: a `__proto__` field stays a plain own field.
  return { inputs: isPlainObject ? { ...rest, ...(extra as Record<string, unknown>) } : rest };
}

/** `_error` as an object: as written in NDJSON/JSON, or the JSON text of a CSV cell. */
function errorObject(value: unknown): Record<string, unknown> | undefined {
  if (typeof value === 'string' && value.startsWith('{')) {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
