import type { EmulatorStats } from './startEmulator.js';

/**
 * The emulator's counters (see {@link EmulatorStats}). Used by `EmulatorServer`; one instance per server.
 */
export class EmulatorCounters {
  requests = 0;
  active = 0;
  peakActive = 0;
  rejectedConcurrency = 0;
  rejectedRateLimit = 0;
  duplicates = 0;
  byStatus: Record<string, number> = {};
  faultsInjected: Record<string, number> = {};
  /** Calls per input key; `undefined` when `trackCallsPerInput` is off. */
  calls: Map<string, number> | undefined;

  constructor(trackCalls: boolean) {
    this.calls = trackCalls ? new Map() : undefined;
  }

  begin(): void {
    this.requests++;
    if (++this.active > this.peakActive) this.peakActive = this.active;
  }

  status(status: number): void {
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
  }

  fault(kind: string): void {
    this.faultsInjected[kind] = (this.faultsInjected[kind] ?? 0) + 1;
  }

  /** Counts one call of an input and returns its 1-based number (always 1 when calls are not tracked). */
  call(key: string): number {
    const calls = this.calls;
    if (calls === undefined) return 1;
    const n = (calls.get(key) ?? 0) + 1;
    calls.set(key, n);
    if (n === 2) this.duplicates++;
    return n;
  }

  /** Zeroes everything except the requests still in flight. */
  reset(trackCalls: boolean): void {
    this.requests = 0;
    this.peakActive = this.active;
    this.rejectedConcurrency = 0;
    this.rejectedRateLimit = 0;
    this.duplicates = 0;
    this.byStatus = {};
    this.faultsInjected = {};
    this.calls = trackCalls ? new Map() : undefined;
  }

  snapshot(): Omit<EmulatorStats, 'uploads' | 'peakActiveUploads'> {
    const stats: Omit<EmulatorStats, 'uploads' | 'peakActiveUploads'> = {
      requests: this.requests,
      active: this.active,
      peakActive: this.peakActive,
      byStatus: { ...this.byStatus },
      rejectedConcurrency: this.rejectedConcurrency,
      rejectedRateLimit: this.rejectedRateLimit,
      faultsInjected: { ...this.faultsInjected },
      duplicates: this.duplicates,
    };
    if (this.calls !== undefined) stats.callsPerInput = Object.fromEntries(this.calls);
    return stats;
  }
}
