import type { ItemResult } from '../core/ItemResult.js';
import type { KafkaConnection } from '../sources/kafka/KafkaConnection.js';
import type { KafkaRecordOrigin } from '../sources/kafka/KafkaRecordOrigin.js';
import type { DeliveryRetry } from './internal/deliverWithRetry.js';
import { RESULT_ENCODING } from './internal/resultEncoding.js';
import { createKafkaSink } from './kafka/createKafkaSink.js';
import type { ResultSink } from './ResultSink.js';

/**
 * Options of {@link toKafka} and {@link toKafkaDeadLetter}.
 * @category sinks
 */
export interface ToKafkaOptions extends KafkaConnection {
  /** The topic to produce to. */
  readonly topic: string;
  /**
   * The Kafka source the items came from (`fromKafka(...)`): each message is keyed by its input
   * message's key, and results of partitions revoked from this consumer are dropped (their new owner
   * produces them). Without it, or for an input message without key, the key is the item's `id`.
   * @defaultValue `undefined`
   */
  readonly origin?: KafkaRecordOrigin | undefined;
  /**
   * Retries of a failed produce (on top of the client's own); a batch is acknowledged only once the
   * broker has it, and when every attempt failed the sink fails the run (ERR_SINK_WRITE), so nothing
   * is committed past it.
   * @defaultValue `{ maxAttempts: 5, minDelayMs: 200, maxDelayMs: 5000 }`
   */
  readonly retry?: Partial<DeliveryRetry> | undefined;
  /** Pending and later writes reject with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Produces each result as one Kafka message: key = the input message's key (or the item's id), value =
 * the same JSON line the file output writes (`{"seq":…,"id":…,"ok":true,"outputs":{…},…}`).
 *
 * @remarks
 * One `send` per batch with acks=all from an idempotent producer with one request in flight, so
 * results keep the order the pipeline writes them in (input order per input partition) and a retried
 * batch is not duplicated. The write promise — the pipeline's acknowledgement, hence the source's
 * commit — resolves only when the broker has acknowledged the batch.
 *
 * @param options - Brokers, topic, origin and retries.
 * @returns A {@link ResultSink}; `close()` disconnects the producer.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) synchronously for bad options; `write` rejects with
 * ERR_SINK_WRITE when every attempt failed.
 * @see fromKafka
 * @see toKafkaDeadLetter
 * @since 0.2.0
 * @category sinks
 */
export function toKafka(options: Readonly<ToKafkaOptions>): ResultSink<ItemResult> {
  const { origin } = options;
  return createKafkaSink<ItemResult>(options, (result) => {
    const record = origin?.recordOf(result.seq);
    if (record !== undefined && !record.current) return undefined;
    return {
      key: record?.key ?? result.id,
      value: JSON.stringify(RESULT_ENCODING.toRecord(result)),
    };
  });
}
