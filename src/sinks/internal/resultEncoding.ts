import type { ItemResult } from '../../core/ItemResult.js';
import type { EncoderSpec } from './createEncoder.js';

/** The CSV columns of a result file, in order. */
export const RESULT_CSV_COLUMNS: readonly string[] = Object.freeze([
  'seq',
  'id',
  'ok',
  'attempts',
  'latencyMs',
  'outputs',
  'error_code',
  'error_message',
]);

/**
 * How results are written: JSON with a stable leading key order (`seq, id, ok, outputs|error,
 * attempts, latencyMs`, then the rest), CSV with RESULT_CSV_COLUMNS and `outputs` JSON-encoded.
 * Used by toWritable and toFile.
 */
export const RESULT_ENCODING: EncoderSpec<ItemResult> = Object.freeze({
  // Assigning onto a skeleton fixes the leading key order; the placeholders are all overwritten.
  toRecord: (r: ItemResult) =>
    Object.assign(
      {
        seq: 0,
        id: '',
        ok: r.ok,
        ...(r.ok ? { outputs: null } : { error: null }),
        attempts: 0,
        latencyMs: 0,
      },
      r,
    ),
  csvColumns: () => RESULT_CSV_COLUMNS,
  toCsvRow: (r: ItemResult) => [
    r.seq,
    r.id,
    r.ok,
    r.attempts,
    r.latencyMs,
    r.ok ? JSON.stringify(r.outputs) : '',
    r.ok ? '' : r.error.code,
    r.ok ? '' : r.error.message,
  ],
});
