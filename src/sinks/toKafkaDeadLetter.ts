import { createKafkaSink } from './kafka/createKafkaSink.js';
import type { ResultSink } from './ResultSink.js';
import { type DeadLetterEntry, deadLetterRecord } from './toDeadLetter.js';
import type { ToKafkaOptions } from './toKafka.js';

/**
 * Produces each failed item to a topic as its input record plus `_error` — the record toDeadLetter
 * writes, so the topic can be fed back as input to re-run exactly the failures.
 *
 * @remarks
 * Keys, ordering, acknowledgement, retries and revoked partitions are as in {@link toKafka}.
 *
 * @param options - Brokers, topic, origin and retries.
 * @returns A {@link ResultSink} of {@link DeadLetterEntry}s.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) synchronously for bad options; `write` rejects with
 * ERR_SINK_WRITE when every attempt failed.
 * @see toDeadLetter
 * @since 0.2.0
 * @category sinks
 */
export function toKafkaDeadLetter(options: Readonly<ToKafkaOptions>): ResultSink<DeadLetterEntry> {
  const { origin } = options;
  return createKafkaSink<DeadLetterEntry>(options, (entry) => {
    const record = origin?.recordOf(entry.item.seq);
    if (record !== undefined && !record.current) return undefined;
    return { key: record?.key ?? entry.item.id, value: JSON.stringify(deadLetterRecord(entry)) };
  });
}
