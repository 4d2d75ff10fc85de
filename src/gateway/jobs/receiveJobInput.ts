import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { formatOfContentType, formatOfName } from '../../sources/internal/formatOf.js';
import type { SourceFormat } from '../../sources/SourceFormat.js';

/** A request body or download written to disk: where, how big, and its newline count. */
export interface ReceivedInput {
  readonly path: string;
  readonly bytes: number;
  /** Records when they can be counted by lines (NDJSON, CSV); blank lines make it an upper bound. */
  readonly lines: number;
  /** The first non-blank byte (`[` for a JSON array, `{` for an object), or `''` for an empty body. */
  readonly firstChar: string;
}

/** The body went over `--max-body-bytes`: nothing is kept. */
export class InputTooLargeError extends Error {
  readonly code = 'ERR_INPUT_TOO_LARGE';
}

/**
 * Streams a body to `path` (never holding it in memory), at most `maxBytes`: past that the partial file
 * is deleted and it rejects with {@link InputTooLargeError}. Writes to a temporary name first, so a crash
 * mid-upload never leaves a half input that looks complete.
 */
export async function receiveJobInput(
  body: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  path: string,
  maxBytes: number,
  signal: AbortSignal,
): Promise<ReceivedInput> {
  let bytes = 0;
  let lines = 0;
  let last = 10;
  let firstChar = '';
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) {
        callback(new InputTooLargeError(`the input is larger than ${maxBytes} bytes (--max-body-bytes)`));
        return;
      }
      if (firstChar === '') {
        const match = /\S/.exec(chunk.toString('latin1'));
        if (match !== null) firstChar = match[0];
      }
      let i = chunk.indexOf(10);
      while (i !== -1) {
        lines++;
        i = chunk.indexOf(10, i + 1);
      }
      if (chunk.byteLength > 0) last = chunk[chunk.byteLength - 1]!;
      callback(null, chunk);
    },
  });
  const partial = `${path}.partial`;
  try {
    await pipeline(body, count, createWriteStream(partial), { signal });
    const file = await open(partial, 'r+');
    await file.sync();
    await file.close();
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { path, bytes, lines: bytes === 0 ? 0 : lines + (last === 10 ? 0 : 1), firstChar };
}

/**
 * Downloads `url` (http or https) to `path` with {@link receiveJobInput}'s limits; the format comes
 * from the URL's extension, else the Content-Type, else NDJSON.
 */
export async function downloadJobInput(
  url: URL,
  path: string,
  maxBytes: number,
  signal: AbortSignal,
): Promise<ReceivedInput & { readonly format: SourceFormat }> {
  const response = await request(url, { method: 'GET', signal });
  if (response.statusCode < 200 || response.statusCode >= 300) {
    await response.body.dump();
    throw new Error(`GET ${url.origin}${url.pathname} answered HTTP ${response.statusCode}`);
  }
  const type = String(response.headers['content-type'] ?? '');
  const format = formatOf(url.pathname, type) ?? 'ndjson';
  const received = await receiveJobInput(response.body, path, maxBytes, signal);
  return { ...received, format };
}

/** The format a file name or Content-Type names, if any. */
export function formatOf(name: string, contentType: string): SourceFormat | undefined {
  return formatOfName(name) ?? formatOfContentType(contentType);
}
