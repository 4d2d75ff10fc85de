export { BATCH_METRICS_DEFAULTS, BatchMetrics, type BatchMetricsOptions } from './BatchMetrics.js';
