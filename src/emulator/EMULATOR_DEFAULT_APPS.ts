import type { EmulatedApp } from './EmulatorOptions.js';

/**
 * The apps an emulator serves unless told otherwise: one workflow, one completion and one chat app.
 *
 * @remarks
 * Keys: workflow `app-EmulatorWorkflowKey00001`, completion `app-EmulatorCompletionKey001`,
 * chat `app-EmulatorChatKey000000001` (Dify's format: `app-` and 24 characters).
 * @since 0.1.0
 * @category testing
 */
export const EMULATOR_DEFAULT_APPS: readonly EmulatedApp[] = Object.freeze([
  Object.freeze({
    key: 'app-EmulatorWorkflowKey00001',
    mode: 'workflow',
    id: '0e3b6a52-7c1d-4f0a-9b1e-5d2c8a4f1001',
    name: 'Emulated workflow app',
    workflowId: '7c3e33d4-1b2a-4c5d-8e6f-9a0b1c2d3e01',
  }),
  Object.freeze({
    key: 'app-EmulatorCompletionKey001',
    mode: 'completion',
    id: '0e3b6a52-7c1d-4f0a-9b1e-5d2c8a4f1002',
    name: 'Emulated completion app',
  }),
  Object.freeze({
    key: 'app-EmulatorChatKey000000001',
    mode: 'chat',
    id: '0e3b6a52-7c1d-4f0a-9b1e-5d2c8a4f1003',
    name: 'Emulated chat app',
  }),
] satisfies EmulatedApp[]);
