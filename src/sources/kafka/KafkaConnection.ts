import { checkOption, checkString } from '../../internal/checkOption.js';

/**
 * Where a Kafka source or sink connects. Each source and sink opens its own connection, so input and
 * output may be different clusters.
 * @category sources
 */
export interface KafkaConnection {
  /** Bootstrap servers, `host:port` each. Prefer `127.0.0.1` to `localhost` (IPv6 first on Node ≥ 17). */
  readonly brokers: readonly string[];
  /** @defaultValue `'dify-batch'` */
  readonly clientId?: string | undefined;
}

/** The defaults of {@link KafkaConnection}. */
export const KAFKA_CONNECTION_DEFAULTS = Object.freeze({ clientId: 'dify-batch' });

/** Validates a connection; used by fromKafka, toKafka and toKafkaDeadLetter before anything connects. */
export function checkKafkaConnection(connection: KafkaConnection): { brokers: string[]; clientId: string } {
  const brokers = connection?.brokers;
  checkOption(
    Array.isArray(brokers) &&
      brokers.length > 0 &&
      brokers.every((b) => typeof b === 'string' && /^[^\s:/]+:\d{1,5}$/.test(b)),
    'brokers',
    'a non-empty array of "host:port" strings',
    brokers,
  );
  const clientId = checkString('clientId', connection.clientId ?? KAFKA_CONNECTION_DEFAULTS.clientId);
  return { brokers: [...brokers], clientId };
}
