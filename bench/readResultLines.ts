import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { OutputChecker } from './OutputChecker.js';
import { seqOfId } from './workload.js';

/** What a piped contender's stdout carried besides its results. */
export interface PipedOutput {
  /** Earliest `t0` and latest `t1` (ns) stamped by a Benthos pipeline; ±Infinity / 0 when absent. */
  readonly firstT0: number;
  readonly lastT1: number;
  /** The `{"_report": {...}}` line a contender measures itself with (the Python contender). */
  readonly report: Readonly<Record<string, number>> | undefined;
}

interface ResultLine {
  readonly id?: string;
  readonly t0?: number;
  readonly t1?: number;
  readonly error?: string;
  readonly outputs?: unknown;
  readonly response?: { readonly data?: { readonly outputs?: unknown } };
  readonly _report?: Record<string, number>;
}

/**
 * Feeds a contender's stdout to the checker line by line as it arrives (the same checker, at the same
 * point, as the in-process contenders). A result line is a JSON object with `id` and either `error`, or
 * `outputs` / `response.data.outputs`; lines that are not JSON objects (log lines) are skipped.
 */
export async function readResultLines(stdout: Readable, checker: OutputChecker): Promise<PipedOutput> {
  let firstT0 = Number.POSITIVE_INFINITY;
  let lastT1 = 0;
  let report: Record<string, number> | undefined;
  for await (const line of createInterface({ input: stdout, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (!line.startsWith('{')) continue;
    let message: ResultLine;
    try {
      message = JSON.parse(line) as ResultLine;
    } catch {
      continue;
    }
    if (message._report !== undefined) {
      report = message._report;
      continue;
    }
    if (typeof message.t0 === 'number') firstT0 = Math.min(firstT0, message.t0);
    if (typeof message.t1 === 'number') lastT1 = Math.max(lastT1, message.t1);
    const seq = seqOfId(message.id);
    if (message.error !== undefined) checker.fail(seq, message.error);
    else checker.ok(seq, message.outputs ?? message.response?.data?.outputs);
  }
  return { firstT0, lastT1, report };
}
