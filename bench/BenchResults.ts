import { cpus, loadavg, totalmem } from 'node:os';
import type { BenchParams } from './BenchParams.js';
import type { ContenderConfig } from './describeContender.js';
import type { GoalResult } from './evaluateGoals.js';
import type { ResultRow } from './protocol.js';
import type { ProfileSummary } from './summarizeProfile.js';

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly totalMemGb: number;
  readonly os: string;
  /** 1-minute load average at the start and at the end: a busy machine makes every number noisy. */
  readonly loadAvgStart: number;
  readonly loadAvgEnd: number;
}

/** The content of bench/out/results.json. */
export interface BenchResults {
  readonly machine: MachineInfo;
  readonly node: string;
  readonly date: string;
  readonly mode: BenchParams['mode'];
  readonly params: BenchParams;
  readonly benthos: string | undefined;
  readonly scenarios: readonly ResultRow[];
  /** How every run was configured (absent in results written before it was recorded). */
  readonly configurations?: readonly ContenderConfig[];
  readonly goals: readonly GoalResult[];
  readonly skipped: readonly string[];
  readonly profiles: readonly ProfileSummary[];
}

export function machineInfo(loadAvgStart: number): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    totalMemGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${process.platform} ${process.arch}`,
    loadAvgStart,
    loadAvgEnd: loadavg()[0]!,
  };
}
