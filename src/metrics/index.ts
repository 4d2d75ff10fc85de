export { BATCH_METRICS_DEFAULTS, BatchMetrics, type BatchMetricsOptions } from './BatchMetrics.js';
export {
  METRICS_SERVER_DEFAULTS,
  type MetricsServer,
  type MetricsServerOptions,
  startMetricsServer,
} from './startMetricsServer.js';
export { type RunMetrics, startRunMetrics } from './startRunMetrics.js';
export { type TraceTransportOptions, traceHeaders, traceTransport } from './traceTransport.js';
