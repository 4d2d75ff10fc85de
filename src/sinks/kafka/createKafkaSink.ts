import type { Producer } from 'kafkajs';
import { DifyBatchError } from '../../core/DifyBatchError.js';
import { checkInteger, checkString } from '../../internal/checkOption.js';
import { checkKafkaConnection } from '../../sources/kafka/KafkaConnection.js';
import { loadKafkaJs } from '../../sources/kafka/loadKafkaJs.js';
import { type DeliveryRetry, deliverWithRetry } from '../internal/deliverWithRetry.js';
import type { ResultSink } from '../ResultSink.js';
import type { ToKafkaOptions } from '../toKafka.js';

/** One message to produce, or `undefined` to drop the value (a revoked partition's result). */
export type KafkaMessageOf<T> = (value: T) => { key: Buffer | string | null; value: string } | undefined;

/** The defaults shared by toKafka and toKafkaDeadLetter. */
export const KAFKA_SINK_DEFAULTS = Object.freeze({
  retry: Object.freeze({ maxAttempts: 5, minDelayMs: 200, maxDelayMs: 5_000 }) as DeliveryRetry,
});

/**
 * The engine behind toKafka and toKafkaDeadLetter: one idempotent producer (acks=all, one request in
 * flight, so a retried batch can neither duplicate nor reorder), one `send` per batch, retried; a
 * batch is acknowledged only when the broker has it. Connects on the first write.
 */
export function createKafkaSink<T>(
  options: Readonly<ToKafkaOptions>,
  toMessage: KafkaMessageOf<T>,
): ResultSink<T> {
  const { brokers, clientId } = checkKafkaConnection(options);
  const topic = checkString('topic', options.topic);
  const retry = { ...KAFKA_SINK_DEFAULTS.retry, ...options.retry };
  checkInteger('retry.maxAttempts', retry.maxAttempts, 1);
  const { signal } = options;
  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;
  let failure: unknown;
  let closed = false;

  const connect = async (): Promise<Producer> => {
    const { Kafka, logLevel } = await loadKafkaJs();
    // The client's own retries stay short: `retry` above is the policy (and the one users configure).
    const kafka = new Kafka({
      clientId,
      brokers,
      logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 100, retries: 3 },
    });
    const created = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await created.connect();
    producer = created;
    return created;
  };

  const sinkError = (error: unknown): DifyBatchError =>
    error instanceof DifyBatchError
      ? error
      : new DifyBatchError(
          'ERR_SINK_WRITE',
          `cannot produce to kafka topic ${topic} at ${brokers.join(',')}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );

  return {
    async write(batch) {
      if (failure !== undefined) throw failure;
      signal?.throwIfAborted();
      const messages: { key: Buffer | string | null; value: string }[] = [];
      for (const value of batch) {
        const message = toMessage(value);
        if (message !== undefined) messages.push(message);
      }
      if (messages.length === 0) return;
      try {
        await deliverWithRetry(
          async () => {
            connecting ??= connect();
            const ready = await connecting.catch((error: unknown) => {
              connecting = undefined; // the next attempt connects afresh
              throw error;
            });
            await ready.send({ topic, acks: -1, messages });
          },
          retry,
          () => true,
          signal,
        );
      } catch (error) {
        failure = signal?.aborted ? signal.reason : sinkError(error);
        throw failure;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await connecting?.catch(() => {});
      await producer?.disconnect();
    },
  };
}
