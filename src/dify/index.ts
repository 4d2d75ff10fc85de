export { checkInputsAgainstForm, type InputFormField } from './checkInputsAgainstForm.js';
export { classifyOutage, type OutageKind } from './classifyOutage.js';
export {
  type ClassifyOptions,
  classifyResponse,
  classifyStatus,
  type DifyErrorResponse,
} from './classifyResponse.js';
export { concurrencyLimitOf } from './concurrencyLimitOf.js';
export {
  DIFY_CLIENT_DEFAULTS,
  DifyClient,
  type DifyClientOptions,
  type DifyClientTimeouts,
  type DifyUploadedFile,
  type DifyUploadOptions,
} from './DifyClient.js';
export type {
  DifyAppKind,
  DifyCallOptions,
  DifyRequest,
  DifyResponseMode,
  DifyResult,
  DifyTransport,
} from './DifyRequest.js';
export { type DifyFileType, fileTypeOf, mimeTypeOf } from './fileTypeOf.js';
export { type DifyErrorFields, isConcurrencyLimitError } from './isConcurrencyLimitError.js';
export { FAILED_RUN_STATUSES, isFailedRunStatus } from './isFailedRunStatus.js';
export { isRetryable } from './isRetryable.js';
export { parseRetryAfter } from './parseRetryAfter.js';
export {
  type AppParameters,
  AppParametersUnavailable,
  type ReadAppParametersOptions,
  readAppParameters,
} from './readAppParameters.js';
