import type { RunProgress, RunSummary } from '../pipeline/RunSummary.js';
import type { KafkaGroupShare } from '../sources/fromKafka.js';
import type { InterruptSignal } from './Interruption.js';

/**
 * How a run ended: `succeeded` (exit 0), `failed-records` (exit 2), `interrupted` (a signal; every record
 * read was written; exit 130/143), `cancelled` (a second signal or the grace period; in-flight calls
 * abandoned; exit 130/143), `fatal` (exit 1).
 */
export type RunEndReason = 'succeeded' | 'failed-records' | 'interrupted' | 'cancelled' | 'fatal';

/** What `dify-batch run` prints at every exit after the run started, and writes to `--summary FILE` as JSON. */
export interface RunReport {
  readonly exitCode: number;
  readonly reason: RunEndReason;
  /** The signal that stopped the run (`interrupted`, `cancelled`). */
  readonly signal?: InterruptSignal;
  /** The fatal error, one line, secrets redacted (`fatal`). */
  readonly message?: string;
  readonly input: string;
  readonly output: string;
  readonly errors?: string;
  readonly counts: {
    readonly read: number;
    readonly written: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly retries: number;
    /** Retries after a failure once the request was sent: Dify may have run (and billed) those twice. */
    readonly ambiguousRetries: number;
  };
  /**
   * A `kafka://` input: the records whose offsets this instance committed, and those a rebalance handed
   * to another group member before their commit (that member writes them again; they are in `written`
   * here too). Summed over a group's instances, `committed` is the records consumed; `written` may exceed it.
   */
  readonly kafka?: KafkaGroupShare;
  /** Per-record latency; absent when the run ended before any summary existed. */
  readonly latencyMs?: RunSummary['latencyMs'];
  readonly elapsedMs: number;
  readonly throughputPerSec: number;
  /** The exact command that continues the run (whenever records may be left). */
  readonly resumeCommand?: string;
  /** Why the API key is not in `resumeCommand`. */
  readonly resumeNote?: string;
}

/** The counts of a summary, or of the last progress seen when the run ended without one. */
export function countsOf(progress: RunProgress): RunReport['counts'] {
  const { read, written, succeeded, failed, retries, ambiguousRetries } = progress;
  return { read, written, succeeded, failed, retries, ambiguousRetries };
}

/** The human lines of a report, for stderr. */
export function formatRunReport(report: RunReport): string {
  const { counts } = report;
  const seconds = (report.elapsedMs / 1000).toFixed(1);
  // Ambiguous retries (a call that may have run twice) are named only when there were some.
  const ambiguous =
    counts.ambiguousRetries > 0 ? ` (${counts.ambiguousRetries} ambiguous: possibly run twice)` : '';
  const tally = `${counts.succeeded} succeeded, ${counts.failed} failed, ${counts.retries} retries${ambiguous}`;
  const latency =
    report.latencyMs === undefined
      ? ''
      : `; latency p50 ${report.latencyMs.p50.toFixed(0)} ms, p99 ${report.latencyMs.p99.toFixed(0)} ms`;
  const howFar = `${counts.read} records read, ${counts.written} written (${tally}) in ${seconds} s`;
  const lines: string[] = [];
  switch (report.reason) {
    case 'succeeded':
    case 'failed-records':
      lines.push(
        `done: ${counts.written} records in ${seconds} s (${report.throughputPerSec.toFixed(1)}/s): ${tally}${latency}`,
      );
      break;
    case 'interrupted':
      lines.push(`interrupted (${report.signal}): stopped reading and wrote every record read: ${howFar}`);
      break;
    case 'cancelled':
      lines.push(`interrupted (${report.signal}), cancelled: in-flight calls abandoned: ${howFar}`);
      break;
    case 'fatal':
      lines.push(`stopped by a fatal error: ${howFar}`);
      break;
  }
  if (report.kafka !== undefined) {
    const { committed, handedOver } = report.kafka;
    lines.push(
      `kafka: committed the offsets of ${committed} records${handedOver > 0 ? `; ${handedOver} written here were handed to another group member by a rebalance before their commit (it writes them again)` : ''}`,
    );
  }
  if (report.resumeCommand !== undefined) {
    lines.push(
      `to continue: ${report.resumeCommand}${report.resumeNote === undefined ? '' : `  (${report.resumeNote})`}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
