export { type CommittableSource, isCommittable } from './CommittableSource.js';
export { type FromAsyncIterableOptions, fromAsyncIterable } from './fromAsyncIterable.js';
export { type FromFileOptions, fromFile } from './fromFile.js';
export { type FromReadableOptions, fromReadable } from './fromReadable.js';
export { MAX_RECORD_BYTES } from './MAX_RECORD_BYTES.js';
export { SOURCE_FORMATS, type SourceFormat } from './SourceFormat.js';
export { SOURCE_DEFAULTS, type SourceOptions } from './SourceOptions.js';
