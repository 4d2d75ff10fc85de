export {
  type CheckpointFile,
  type CheckpointRecord,
  checkpointPaths,
  FILE_CHECKPOINT_DEFAULTS,
  FileCheckpoint,
  type FileCheckpointOptions,
  type JournalContents,
} from './FileCheckpoint.js';
export {
  FINGERPRINT_DEFAULTS,
  fingerprintInput,
  type InputFingerprint,
  inputDifferences,
} from './fingerprintInput.js';
export {
  type PollBackStartedRunsOptions,
  type PollBackStartedRunsResult,
  pollBackStartedRuns,
} from './pollBackStartedRuns.js';
export {
  RECOVER_WORKFLOW_RUNS_DEFAULTS,
  type RecoverWorkflowRunsOptions,
  recoverWorkflowRuns,
} from './recoverWorkflowRuns.js';
