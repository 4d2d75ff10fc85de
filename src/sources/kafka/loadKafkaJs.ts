import { DifyBatchError } from '../../core/DifyBatchError.js';

/** The part of the `kafkajs` module we use: its `Kafka` class and log levels. */
export type KafkaJsModule = typeof import('kafkajs');

/**
 * Imports `kafkajs`, the optional peer dependency behind fromKafka and toKafka. Only these import it,
 * and only when a Kafka source or sink is first used, so users without Kafka never install it.
 * Used by fromKafka, toKafka and toKafkaDeadLetter.
 * @throws DifyBatchError (ERR_INVALID_OPTION) naming the package to install when it is missing.
 */
export async function loadKafkaJs(): Promise<KafkaJsModule> {
  let loaded: KafkaJsModule & { default?: KafkaJsModule };
  try {
    loaded = (await import('kafkajs')) as KafkaJsModule & { default?: KafkaJsModule };
  } catch (error) {
    throw new DifyBatchError(
      'ERR_INVALID_OPTION',
      'Kafka needs the optional peer dependency kafkajs: run `npm install kafkajs@2.2.4`',
      { cause: error },
    );
  }
  // kafkajs is CommonJS: its exports sit on `default` when Node's ESM loader cannot see them by name.
  return typeof loaded.Kafka === 'function' ? loaded : (loaded.default as KafkaJsModule);
}
