export { AckWatermark, type Watermark } from './AckWatermark.js';
export type { RequestMapping } from './buildRequest.js';
export { createDifyTransform, type DifyTransformOptions } from './createDifyTransform.js';
export { type DifyResultsOptions, difyResults } from './difyResults.js';
export type { RunProgress, RunSummary } from './RunSummary.js';
export { RUN_BATCH_DEFAULTS, type RunBatchOptions, runBatch } from './runBatch.js';
