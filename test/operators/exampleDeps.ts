// Stands in for the package root ('dify-batch') when the TSDoc examples run: the operators plus the
// core names the examples use.
export { DifyApiError } from '../../src/core/DifyApiError.js';
export type { Item } from '../../src/core/Item.js';
export type { DifyTransport } from '../../src/dify/DifyRequest.js';
export {
  AdaptiveConcurrency,
  batch,
  CircuitBreaker,
  callDify,
  creditGate,
  processRecords,
  rateLimit,
  reorder,
  retryBackoff,
  TokenBucket,
} from '../../src/operators/index.js';
