export { EMULATOR_DEFAULT_APPS } from './EMULATOR_DEFAULT_APPS.js';
export {
  EMULATOR_DEFAULTS,
  type EmulatedApp,
  type EmulatedAppStatus,
  type EmulatedDifyVersion,
  type EmulatedFileInput,
  type EmulatorOptions,
  type FaultRates,
  type LatencyDistribution,
  type UploadFault,
} from './EmulatorOptions.js';
export { emulatedOutputs } from './emulatedOutputs.js';
export { type Emulator, type EmulatorStats, startEmulator } from './startEmulator.js';
