import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { emulatedOutputs } from '../src/emulator/emulatedOutputs.js';
import { RETRY_BACKOFF_DEFAULTS } from '../src/operators/retryBackoff.js';
import { OutputChecker } from './OutputChecker.js';
import type { WorkerReport } from './protocol.js';
import { readResultLines } from './readResultLines.js';
import { workflowAnswerMatcher } from './workflowAnswerMatcher.js';
import { makeRecord } from './workload.js';

export interface PythonRun {
  /** The venv's interpreter (bench/python/.venv/bin/python). */
  readonly python: string;
  /** bench/python/contender.py */
  readonly script: string;
  readonly ordered: boolean;
  /** NDJSON of bench records (bench/workload.ts). */
  readonly input: string;
  readonly count: number;
  readonly payloadBytes: number;
  readonly concurrency: number;
  readonly attempts: number;
  /** Emulator URL ending in /v1. */
  readonly url: string;
  readonly apiKey: string;
}

/**
 * Runs the Python contender; its stdout (one line per result, then a `_report` line with its own wall
 * time, CPU and peak RSS, set-up excluded) is piped into the checker as it arrives.
 */
export async function runPython(run: PythonRun): Promise<WorkerReport> {
  const checker = new OutputChecker(
    run.count,
    (seq) => emulatedOutputs('workflow', makeRecord(seq, run.payloadBytes).inputs),
    run.ordered,
    workflowAnswerMatcher(run.payloadBytes),
  );
  const args = [
    run.script,
    '--url',
    run.url,
    '--key',
    run.apiKey,
    '--input',
    run.input,
    '--concurrency',
    String(run.concurrency),
    '--attempts',
    String(run.attempts),
    '--base-delay-ms',
    String(RETRY_BACKOFF_DEFAULTS.baseDelayMs),
    '--max-delay-ms',
    String(RETRY_BACKOFF_DEFAULTS.maxDelayMs),
    run.ordered ? '--ordered' : '--unordered',
  ];
  const child = spawn(run.python, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const piped = await readResultLines(child.stdout, checker);
  const [code] = await exited;
  if (code !== 0 || piped.report === undefined) throw new Error(`python contender exited with ${code}`);
  const report = piped.report;
  return {
    wallMs: report.wall_ms ?? Number.NaN,
    cpuUserUs: report.cpu_user_us ?? Number.NaN,
    cpuSystemUs: report.cpu_system_us ?? Number.NaN,
    rssStartMb: Number.NaN,
    rssWarmMb: Number.NaN,
    rssPeakMb: (report.max_rss_kb ?? Number.NaN) / 1024,
    check: checker.report(),
    extra: {},
  };
}
