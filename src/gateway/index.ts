export {
  GATEWAY_DEFAULTS,
  GATEWAY_REDACTED_LOG_PATHS,
  type Gateway,
  type GatewayOptions,
  startGateway,
} from './startGateway.js';
export type { BatchResult } from './toBatchResult.js';
