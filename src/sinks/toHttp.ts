import { type Dispatcher, request } from 'undici';
import { DifyBatchError } from '../core/DifyBatchError.js';
import type { ItemResult } from '../core/ItemResult.js';
import { redactSecrets } from '../core/redactSecrets.js';
import { checkHttpUrl, checkInteger } from '../internal/checkOption.js';
import { showUrl } from '../sources/internal/httpUrl.js';
import { type DeliveryRetry, deliverWithRetry } from './internal/deliverWithRetry.js';
import { RESULT_ENCODING } from './internal/resultEncoding.js';
import type { ResultSink } from './ResultSink.js';

/**
 * Options of {@link toHttp}.
 * @category sinks
 */
export interface ToHttpOptions {
  /** Extra request headers (an `Authorization` here never appears in an error message). @defaultValue `{}` */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /**
   * Attempts per batch and backoff (exponential, with jitter). Network errors, 408, 425, 429 and 5xx
   * are retried; other statuses are final at once.
   * @defaultValue `{ maxAttempts: 5, minDelayMs: 200, maxDelayMs: 10000 }`
   */
  readonly retry?: Partial<DeliveryRetry> | undefined;
  /** Deadline of one POST, response included. @defaultValue `30000` */
  readonly timeoutMs?: number | undefined;
  /**
   * Where a batch goes when the webhook keeps refusing it (every attempt failed, or a final status):
   * e.g. `toFile('undelivered.ndjson')`. The batch counts as written once the fallback has it. Without
   * a fallback such a batch fails the run (ERR_SINK_WRITE). Closed with this sink.
   * @defaultValue `undefined`
   */
  readonly fallback?: ResultSink<ItemResult> | undefined;
  /** The undici dispatcher. @defaultValue undici's global dispatcher */
  readonly dispatcher?: Dispatcher | undefined;
  /** Pending and later writes reject with `signal.reason`; a POST in progress is cancelled. */
  readonly signal?: AbortSignal | undefined;
}

/** The defaults of {@link ToHttpOptions}. */
export const TO_HTTP_DEFAULTS = Object.freeze({
  retry: Object.freeze({ maxAttempts: 5, minDelayMs: 200, maxDelayMs: 10_000 }) as DeliveryRetry,
  timeoutMs: 30_000,
});

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    shown: string,
  ) {
    super(`POST ${shown}: HTTP ${status}`);
  }
}

/**
 * POSTs each batch of results to a webhook as NDJSON (`Content-Type: application/x-ndjson`), one
 * line per result — the line the file output writes — with retries, backoff and a fallback sink.
 *
 * @remarks
 * A batch is acknowledged (credits return to the source, the source may commit) only once the webhook
 * answered 2xx, or the fallback has it. Batches are posted one at a time, in the pipeline's order.
 * The header `X-Dify-Batch-Seq: <first>-<last>` names the batch, so a receiver can de-duplicate a
 * batch re-sent after a lost response.
 *
 * @param url - The webhook, an `http:` or `https:` URL.
 * @param options - Headers, retries, timeout, fallback, dispatcher and signal.
 * @returns A {@link ResultSink}; `close()` closes the fallback.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) synchronously for a bad URL or options; `write`
 * rejects with ERR_SINK_WRITE when a batch could be delivered neither to the webhook nor a fallback.
 * @example
 * ```ts
 * import { toFile, toHttp } from 'dify-batch';
 * const sink = toHttp('https://hooks.example.com/results', { fallback: toFile('undelivered.ndjson') });
 * ```
 * @see fromHttp
 * @since 0.2.0
 * @category sinks
 */
export function toHttp(url: string, options?: Readonly<ToHttpOptions>): ResultSink<ItemResult> {
  const target = checkHttpUrl('url', url, { allowCredentials: true });
  const shown = showUrl(target);
  const retry = { ...TO_HTTP_DEFAULTS.retry, ...options?.retry };
  checkInteger('retry.maxAttempts', retry.maxAttempts, 1);
  const timeoutMs = checkInteger('timeoutMs', options?.timeoutMs ?? TO_HTTP_DEFAULTS.timeoutMs, 1);
  const signal = options?.signal;
  const fallback = options?.fallback;
  let failure: unknown;
  let closed = false;

  const post = async (body: string, seqs: string): Promise<void> => {
    const response = await request(target, {
      method: 'POST',
      headers: { ...options?.headers, 'content-type': 'application/x-ndjson', 'x-dify-batch-seq': seqs },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(signal === undefined ? {} : { signal }),
      ...(options?.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    });
    // Drain the answer so the connection can be reused.
    await response.body.dump();
    if (response.statusCode < 200 || response.statusCode > 299)
      throw new HttpStatusError(response.statusCode, shown);
  };

  return {
    async write(batch) {
      if (failure !== undefined) throw failure;
      signal?.throwIfAborted();
      if (batch.length === 0) return;
      const body = batch.map((r) => `${JSON.stringify(RESULT_ENCODING.toRecord(r))}\n`).join('');
      const seqs = `${batch[0]!.seq}-${batch[batch.length - 1]!.seq}`;
      try {
        await deliverWithRetry(
          () => post(body, seqs),
          retry,
          (error) => !(error instanceof HttpStatusError) || RETRYABLE_STATUS.has(error.status),
          signal,
        );
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (fallback !== undefined) {
          await fallback.write(batch);
          return;
        }
        const message =
          error instanceof HttpStatusError
            ? error.message
            : `POST ${shown}: ${String((error as Error)?.message ?? error)}`;
        failure = new DifyBatchError('ERR_SINK_WRITE', redactSecrets(message), { cause: error });
        throw failure;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await fallback?.close();
    },
  };
}
