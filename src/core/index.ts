export { DifyApiError, type DifyApiErrorInit } from './DifyApiError.js';
export { DifyBatchError, type DifyBatchErrorOptions, type ErrorCode } from './DifyBatchError.js';
export { InvalidOptionError } from './InvalidOptionError.js';
export type { ErrorRecord, Item, SourcePosition } from './Item.js';
export type { ItemFailure, ItemResult, ItemSuccess } from './ItemResult.js';
export { redactSecrets } from './redactSecrets.js';
export { toErrorRecord } from './toErrorRecord.js';
