export { type CommittableSource, isCommittable } from './CommittableSource.js';
export { type FromAsyncIterableOptions, fromAsyncIterable } from './fromAsyncIterable.js';
export { type FromFileOptions, fromFile } from './fromFile.js';
export { type FromHttpOptions, fromHttp } from './fromHttp.js';
export {
  FROM_KAFKA_DEFAULTS,
  type FromKafkaOptions,
  fromKafka,
  type KafkaGroupShare,
  type KafkaSource,
} from './fromKafka.js';
export { type FromReadableOptions, fromReadable } from './fromReadable.js';
export { KAFKA_CONNECTION_DEFAULTS, type KafkaConnection } from './kafka/KafkaConnection.js';
export type { KafkaRecordOrigin } from './kafka/KafkaRecordOrigin.js';
export { MAX_RECORD_BYTES } from './MAX_RECORD_BYTES.js';
export { SOURCE_FORMATS, type SourceFormat } from './SourceFormat.js';
export { SOURCE_DEFAULTS, type SourceOptions } from './SourceOptions.js';
