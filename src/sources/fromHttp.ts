import type { Readable } from 'node:stream';
import { type Dispatcher, request } from 'undici';
import { DifyBatchError } from '../core/DifyBatchError.js';
import type { Item } from '../core/Item.js';
import { redactSecrets } from '../core/redactSecrets.js';
import { checkHttpUrl } from '../internal/checkOption.js';
import { formatOfContentType, formatOfName } from './internal/formatOf.js';
import { showUrl } from './internal/httpUrl.js';
import { readItems } from './internal/readItems.js';
import { checkFormat, resolveSourceOptions } from './internal/resolveSourceOptions.js';
import type { SourceFormat } from './SourceFormat.js';
import type { SourceOptions } from './SourceOptions.js';

/**
 * Options of {@link fromHttp}.
 * @category sources
 */
export interface FromHttpOptions extends SourceOptions {
  /**
   * How the body is framed.
   * @defaultValue from the response's Content-Type (`application/x-ndjson`, `application/jsonl`,
   * `application/json`, `text/csv`), else from the URL path's extension, else `'ndjson'`
   */
  readonly format?: SourceFormat | undefined;
  /** Request headers (an `Authorization` here never appears in an error message). @defaultValue `{}` */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** The undici dispatcher (a Pool, an Agent with a proxy). @defaultValue undici's global dispatcher */
  readonly dispatcher?: Dispatcher | undefined;
}

/**
 * Streams the records of an HTTP(S) GET response body (NDJSON, JSON array or CSV) as items.
 *
 * @remarks
 * The same parsing, per-record errors and backpressure as {@link fromFile}: the body is read only as
 * the pipeline pulls, so a slow pipeline slows the download (TCP flow control) instead of buffering it.
 * Items have `position = { partition: url, line, offset }` (byte offset in the body).
 * A non-2xx status is fatal (ERR_SOURCE_READ with the status). A connection that drops mid-body is
 * fatal too, and resumable: the error names the last record read (`after line 1200, byte 53211`) and
 * `error.resumeSkip` is the `skip` that resumes the run without re-reading what was read.
 * URLs are shown without their user:password part.
 *
 * @param url - An `http:` or `https:` URL.
 * @param options - The format, headers, dispatcher, and the options every source takes.
 * @returns An async iterable of items with dense `seq` from 0; each iteration sends a new request.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) synchronously for a bad URL or options; the
 * iterator rejects with ERR_SOURCE_READ as above, and with `signal.reason` on abort.
 * @example
 * ```ts
 * import { fromHttp } from 'dify-batch';
 * for await (const item of fromHttp('https://example.com/rows.ndjson', { idField: 'id' })) {
 *   console.log(item.seq, item.id);
 * }
 * ```
 * @see fromFile
 * @since 0.2.0
 * @category sources
 */
export function fromHttp(url: string, options?: Readonly<FromHttpOptions>): AsyncIterable<Item> {
  const parsed = checkHttpUrl('url', url, { allowCredentials: true });
  const resolved = resolveSourceOptions(options);
  const explicit = options?.format === undefined ? undefined : checkFormat(options.format);
  const shown = showUrl(parsed);
  return {
    [Symbol.asyncIterator]: () => read(parsed, shown, explicit, resolved, options),
  };
}

async function* read(
  url: URL,
  shown: string,
  explicit: SourceFormat | undefined,
  resolved: ReturnType<typeof resolveSourceOptions>,
  options: Readonly<FromHttpOptions> | undefined,
): AsyncGenerator<Item> {
  const { signal } = resolved;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      method: 'GET',
      headers: { accept: 'application/x-ndjson, application/json, text/csv, */*', ...options?.headers },
      ...(signal === undefined ? {} : { signal }),
      ...(options?.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new DifyBatchError('ERR_SOURCE_READ', `cannot GET ${shown}: ${messageOf(error)}`, { cause: error });
  }
  if (response.statusCode < 200 || response.statusCode > 299) {
    await response.body.dump().catch(() => {});
    throw new DifyBatchError('ERR_SOURCE_READ', `cannot GET ${shown}: HTTP ${response.statusCode}`);
  }
  const format = explicit ?? formatOf(response.headers['content-type'], url);
  let last: Item | undefined;
  try {
    for await (const item of readItems(response.body as Readable, {
      ...resolved,
      format,
      partition: shown,
      label: shown,
    })) {
      last = item;
      yield item;
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const where =
      last === undefined
        ? 'before the first record'
        : `after line ${last.position?.line ?? '?'}, byte ${last.position?.offset ?? '?'}, seq ${last.seq}`;
    const resumeSkip = last === undefined ? resolved.skip : last.seq + 1;
    const failure = new DifyBatchError(
      'ERR_SOURCE_READ',
      `${redactSecrets(messageOf(error))} (${where}; resume with skip ${resumeSkip})`,
      { cause: error },
    );
    throw Object.assign(failure, { resumeSkip });
  }
}

function formatOf(contentType: string | string[] | undefined, url: URL): SourceFormat {
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  return formatOfContentType(type) ?? formatOfName(url.pathname) ?? 'ndjson';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
