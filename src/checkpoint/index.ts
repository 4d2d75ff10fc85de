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
