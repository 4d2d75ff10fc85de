export { FileUploadLog } from './FileUploadLog.js';
export {
  FILE_UPLOADS_DEFAULTS,
  FileUploads,
  type FileUploadsOptions,
  type UploadFileFn,
  type UploadStore,
} from './FileUploads.js';
export { nonPublicRange } from './nonPublicRange.js';
export {
  RemoteHostAllowList,
  type RemoteHostAllowListOptions,
  type RemoteHostDecision,
  type ResolveHost,
} from './RemoteHostAllowList.js';
export type { RunBatchFiles } from './RunBatchFiles.js';
export {
  type FileSizeLimits,
  type FileTransferMethod,
  type FileVariable,
  type FileVariables,
  readFileVariables,
} from './readFileVariables.js';
export { type ResolveFileInputsOptions, resolveFileInputs } from './resolveFileInputs.js';
