// 'dify-batch/limits': the shared limits callDify and rateLimit take (a quota, a breaker, an adaptive
// concurrency limit). Not operators: one instance can gate several pipelines.
export {
  ADAPTIVE_CONCURRENCY_DEFAULTS,
  AdaptiveConcurrency,
  type AdaptiveConcurrencyOptions,
  type CallOutcome,
} from './AdaptiveConcurrency.js';
export {
  type BreakerOutcome,
  type BreakerPass,
  CIRCUIT_BREAKER_DEFAULTS,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from './CircuitBreaker.js';
export { TOKEN_BUCKET_DEFAULTS, TokenBucket, type TokenBucketOptions } from './TokenBucket.js';
