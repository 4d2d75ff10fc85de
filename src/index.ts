export {
  DifyApiError,
  type DifyApiErrorInit,
  DifyBatchError,
  type DifyBatchErrorOptions,
  type ErrorCode,
  type ErrorRecord,
  InvalidOptionError,
  type Item,
  type ItemFailure,
  type ItemResult,
  type ItemSuccess,
  redactSecrets,
  type SourcePosition,
  toErrorRecord,
} from './core/index.js';
export type {
  DifyAppKind,
  DifyCallOptions,
  DifyRequest,
  DifyResponseMode,
  DifyResult,
  DifyTransport,
} from './dify/DifyRequest.js';
