export type { DeliveryRetry } from './internal/deliverWithRetry.js';
export { KAFKA_SINK_DEFAULTS } from './kafka/createKafkaSink.js';
export type { ResultSink, SinkCloseOptions } from './ResultSink.js';
export { SINK_FORMATS, type SinkFormat } from './SinkFormat.js';
export {
  type DeadLetterEntry,
  type DeadLetterError,
  TO_DEAD_LETTER_DEFAULTS,
  type ToDeadLetterOptions,
  toDeadLetter,
} from './toDeadLetter.js';
export { type ToFileOptions, toFile } from './toFile.js';
export { TO_HTTP_DEFAULTS, type ToHttpOptions, toHttp } from './toHttp.js';
export { type ToKafkaOptions, toKafka } from './toKafka.js';
export { toKafkaDeadLetter } from './toKafkaDeadLetter.js';
export { TO_WRITABLE_DEFAULTS, type ToWritableOptions, toWritable } from './toWritable.js';
