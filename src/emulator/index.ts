export type * from './EmulatorOptions.js';
