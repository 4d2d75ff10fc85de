// Stands in for 'dify-batch', 'dify-batch/operators' and 'dify-batch/limits' when the TSDoc examples
// run: the operators, the limits and the core names the examples use.
export { DifyApiError } from '../../src/core/DifyApiError.js';
export type { Item } from '../../src/core/Item.js';
export type { DifyTransport } from '../../src/dify/DifyRequest.js';
export { AdaptiveConcurrency, CircuitBreaker, TokenBucket } from '../../src/limits/index.js';
export {
  batch,
  callDify,
  creditGate,
  processRecords,
  rateLimit,
  reorder,
  retryBackoff,
} from '../../src/operators/index.js';
