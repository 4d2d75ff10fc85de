import { stringify } from 'csv-stringify/sync';
import type { SinkFormat } from '../SinkFormat.js';

/** Turns batches into text, keeping the framing state (JSON's `[`/`,`, CSV's header) between batches. */
export interface Encoder<T> {
  encode(batch: readonly T[]): string;
  /** The trailer to write on close (`]`, or `[]` / a bare header for an empty run). */
  finish(): string;
}

/** How a sink maps its values to records (NDJSON, JSON) and rows (CSV). */
export interface EncoderSpec<T> {
  readonly toRecord: (value: T) => unknown;
  /** The CSV header; called with the first value, or with `undefined` on close when nothing was written. */
  readonly csvColumns: (first: T | undefined) => readonly string[] | undefined;
  readonly toCsvRow: (value: T, columns: readonly string[]) => readonly unknown[];
}

/**
 * The encoder for `format`; `continued` when the destination already holds this encoder's earlier
 * output (a resumed file: JSON's `[` and the CSV header are not written again). Every batch is encoded to one string before any state changes, so a value
 * that cannot be serialised throws without corrupting the framing. Used by toWritable, toFile and toDeadLetter.
 */
export function createEncoder<T>(format: SinkFormat, spec: EncoderSpec<T>, continued = false): Encoder<T> {
  switch (format) {
    case 'ndjson':
      return {
        encode: (batch) => batch.map((value) => `${JSON.stringify(spec.toRecord(value))}\n`).join(''),
        finish: () => '',
      };
    case 'json':
      return jsonArrayEncoder(spec, continued);
    case 'csv':
      return csvEncoder(spec, continued);
  }
}

function jsonArrayEncoder<T>(spec: EncoderSpec<T>, continued: boolean): Encoder<T> {
  let started = continued;
  return {
    encode(batch) {
      const body = batch.map((value) => JSON.stringify(spec.toRecord(value))).join(',\n');
      const text = `${started ? ',\n' : '[\n'}${body}`;
      started = true;
      return text;
    },
    finish: () => (started ? '\n]\n' : '[]\n'),
  };
}

/**
 * `true`/`false` rather than csv-stringify's default `1`/empty, so `ok` reads back unambiguously.
 * A fresh object per call: csv-stringify fills in the casts it was not given.
 */
const csvCast = () => ({ boolean: (value: boolean) => String(value) });

function csvEncoder<T>(spec: EncoderSpec<T>, continued: boolean): Encoder<T> {
  let columns: readonly string[] | undefined;
  // A continued file has its header; the columns still come from the spec on the first batch.
  let hasHeader = continued;
  return {
    encode(batch) {
      const first = batch[0];
      if (first === undefined) return '';
      const cols = columns ?? spec.csvColumns(first) ?? [];
      const rows = batch.map((value) => spec.toCsvRow(value, cols));
      const text = stringify(rows as unknown[][], {
        header: !hasHeader,
        columns: [...cols],
        cast: csvCast(),
      });
      columns = cols;
      hasHeader = true;
      return text;
    },
    finish() {
      if (hasHeader) return '';
      const cols = spec.csvColumns(undefined);
      return cols === undefined ? '' : stringify([], { header: true, columns: [...cols] });
    },
  };
}
