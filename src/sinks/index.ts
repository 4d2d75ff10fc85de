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
export { TO_WRITABLE_DEFAULTS, type ToWritableOptions, toWritable } from './toWritable.js';
