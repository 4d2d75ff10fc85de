import type { EmulatorStats } from '../src/emulator/startEmulator.js';

/** The emulator counters the bench reports per run. */
export interface EmulatorCounts {
  /** Service API requests the emulator received. */
  readonly requests: number;
  /** Requests answered 429 (rate limit, or the concurrency limit when it answers 429). */
  readonly rejected: number;
  /** Most requests in flight at once: the concurrency the contender really reached. */
  readonly peakActive: number;
  /** Requests refused by the app concurrency limit (`maxActiveRequests`), whatever status it answers. */
  readonly rejectedConcurrency: number;
}

/** Picks the bench's counters out of `emulator.stats()` (which crossed IPC). */
export function readEmulatorCounts(stats: unknown): EmulatorCounts {
  const s = stats as Partial<EmulatorStats> | undefined;
  return {
    requests: s?.requests ?? 0,
    rejected: s?.byStatus?.['429'] ?? 0,
    peakActive: s?.peakActive ?? 0,
    rejectedConcurrency: s?.rejectedConcurrency ?? 0,
  };
}
