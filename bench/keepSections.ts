/**
 * Today's call site of bench/realDify.ts (`replaceSection` on RESULTS.md). The mechanism is
 * bench/sideRuns.ts: once realDify.ts calls `writeSideRun`, delete this file.
 */
export { replaceSection } from './sideRuns.js';
