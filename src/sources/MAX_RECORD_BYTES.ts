/**
 * The most bytes one record may take in a byte stream: an NDJSON line, a CSV record, an element of a
 * JSON array. 64 MiB.
 *
 * @remarks
 * A record is held whole in memory while it is parsed, so this bounds what one enormous record (or a
 * file with no newline at all) can cost. Records up to this size work (a 10 MB line is fine).
 * A longer NDJSON line becomes an `ERR_SOURCE_PARSE` item naming its line (its first KiB kept as
 * `_raw`) and reading goes on with the next line; in CSV and JSON arrays, whose structure cannot be
 * resumed, it is a fatal `ERR_SOURCE_READ` naming the line.
 * @since 0.1.0
 * @category sources
 */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
