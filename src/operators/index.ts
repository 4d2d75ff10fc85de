export {
  CREDIT_GATE_DEFAULTS,
  type CreditGate,
  type CreditGateOptions,
  creditGate,
} from '../pipeline/creditGate.js';
export { BATCH_DEFAULTS, type BatchOptions, batch } from './batch.js';
export {
  CALL_DIFY_DEFAULTS,
  type CallDifyAttemptEvent,
  type CallDifyOptions,
  type CallDifyRetryEvent,
  type CallDifySettledEvent,
  type CallDifyTransport,
  callDify,
} from './callDify.js';
export {
  PROCESS_RECORDS_DEFAULTS,
  type ProcessRecordsOptions,
  processRecords,
} from './processRecords.js';
export { rateLimit } from './rateLimit.js';
export { REORDER_DEFAULTS, type ReorderOptions, reorder } from './reorder.js';
export {
  RETRY_BACKOFF_DEFAULTS,
  type RetryAttemptContext,
  type RetryBackoffOptions,
  type RetryEvent,
  type RetryOutcome,
  type RetryPolicy,
  retryBackoff,
  type UncountedRetry,
} from './retryBackoff.js';
