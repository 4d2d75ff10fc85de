import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/**
 * Counts the records of an uncompressed NDJSON or CSV file by counting newlines (about 1 GB/s), so
 * the progress bar can show a percentage and an ETA. Returns undefined when the count would be a guess
 * (stdin, gzip, JSON arrays). Blank lines make it an upper bound, which only shortens the ETA.
 */
export async function countRecords(
  path: string,
  format: string | undefined,
  signal: AbortSignal,
): Promise<number | undefined> {
  if (path === '-' || path.endsWith('.gz')) return undefined;
  const kind =
    format ?? (/\.(ndjson|jsonl)$/i.test(path) ? 'ndjson' : /\.csv$/i.test(path) ? 'csv' : undefined);
  if (kind !== 'ndjson' && kind !== 'csv') return undefined;
  const { size } = await stat(path);
  let newlines = 0;
  let lastByte = 10;
  for await (const chunk of createReadStream(path, {
    signal,
    highWaterMark: 1 << 20,
  }) as AsyncIterable<Buffer>) {
    let i = chunk.indexOf(10);
    while (i !== -1) {
      newlines++;
      i = chunk.indexOf(10, i + 1);
    }
    lastByte = chunk[chunk.length - 1] ?? lastByte;
  }
  const lines = size === 0 ? 0 : newlines + (lastByte === 10 ? 0 : 1);
  return kind === 'csv' ? Math.max(0, lines - 1) : lines;
}
