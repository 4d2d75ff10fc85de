import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { createInterface } from 'node:readline';
import { stringify } from 'csv-stringify/sync';
import { RESULT_CSV_COLUMNS, RESULT_ENCODING } from '../../sinks/internal/resultEncoding.js';

const NDJSON_TYPE = 'application/x-ndjson; charset=utf-8';

/**
 * Streams the complete lines of an NDJSON file written so far (a running job's file may end in a torn
 * line: it is left out), as NDJSON or converted to CSV.
 */
export async function streamJobLines(
  res: ServerResponse,
  path: string,
  kind: 'results' | 'errors',
  format: string | null,
): Promise<void> {
  const end = await completeLength(path);
  const csv = format === 'csv';
  res.writeHead(200, { 'Content-Type': csv ? 'text/csv; charset=utf-8' : NDJSON_TYPE });
  if (end === 0) {
    res.end(
      csv && kind === 'results' ? stringify([], { header: true, columns: [...RESULT_CSV_COLUMNS] }) : '',
    );
    return;
  }
  const stream = createReadStream(path, { start: 0, end: end - 1 });
  if (!csv) {
    stream.pipe(res);
    await new Promise<void>((resolve) => res.once('close', resolve));
    return;
  }
  let columns: string[] | undefined = kind === 'results' ? [...RESULT_CSV_COLUMNS] : undefined;
  let header = true;
  for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line === '') continue;
    const record = JSON.parse(line) as Record<string, unknown>;
    columns ??= [...Object.keys(record).filter((k) => k !== '_error'), '_error'];
    const row =
      kind === 'results'
        ? RESULT_ENCODING.toCsvRow(record as never, columns)
        : columns.map((c) => (c === '_error' ? JSON.stringify(record._error) : stringOf(record[c])));
    const text = stringify([row as unknown[]], {
      header,
      columns,
      cast: { boolean: (v: boolean) => String(v) },
    });
    header = false;
    if (!res.write(text)) await new Promise<void>((resolve) => res.once('drain', resolve));
  }
  res.end();
}

function stringOf(value: unknown): string {
  return value === undefined || value === null
    ? ''
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);
}

/** Bytes up to and including the last newline (0 for a missing file). */
async function completeLength(path: string): Promise<number> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return 0;
  }
  const file = await open(path, 'r');
  try {
    const block = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - block.length);
      const { bytesRead } = await file.read(block, 0, end - start, start);
      const at = block.subarray(0, bytesRead).lastIndexOf(10);
      if (at !== -1) return start + at + 1;
      end = start;
    }
    return 0;
  } finally {
    await file.close();
  }
}
