export { isRetryable } from '../dify/isRetryable.js';
export {
  ADAPTIVE_CONCURRENCY_DEFAULTS,
  AdaptiveConcurrency,
  type AdaptiveConcurrencyOptions,
  type CallOutcome,
} from '../limits/AdaptiveConcurrency.js';
export {
  type BreakerOutcome,
  type BreakerPass,
  CIRCUIT_BREAKER_DEFAULTS,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from '../limits/CircuitBreaker.js';
export { TOKEN_BUCKET_DEFAULTS, TokenBucket, type TokenBucketOptions } from '../limits/TokenBucket.js';
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
