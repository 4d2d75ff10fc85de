import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { emulatedOutputs } from '../src/emulator/emulatedOutputs.js';
import { OutputChecker } from './OutputChecker.js';
import type { WorkerReport } from './protocol.js';
import { readResultLines } from './readResultLines.js';
import { workflowAnswerMatcher } from './workflowAnswerMatcher.js';
import { makeRecord } from './workload.js';

export interface BenthosRun {
  readonly binary: string;
  /** bench/benthos/unordered.yaml (variant A) or ordered.yaml (variant B). */
  readonly config: string;
  readonly ordered: boolean;
  /** NDJSON of bench records (bench/workload.ts). */
  readonly input: string;
  readonly count: number;
  readonly payloadBytes: number;
  /** Requests in flight: pipeline threads (A) or batch size (B). */
  readonly concurrency: number;
  /** The quota (req/s) of the `rate_limit` resource, when dify-batch is told one too. */
  readonly rateLimitPerSecond?: number | undefined;
  /** Emulator URL ending in /v1. */
  readonly url: string;
  readonly apiKey: string;
  /** Scratch folder for /usr/bin/time's output (emptied first). */
  readonly outDir: string;
}

const TIME = '/usr/bin/time';

/**
 * Runs Benthos on the workload file; its stdout (one line per result) is piped into the checker as it
 * arrives. Throughput uses the first request's t0 and the last response's t1 stamped inside the pipeline,
 * so process start-up and shutdown are excluded as they are for the Node workers; CPU and peak RSS (via
 * /usr/bin/time, when present) cover the whole process.
 */
export async function runBenthos(run: BenthosRun): Promise<WorkerReport> {
  rmSync(run.outDir, { recursive: true, force: true });
  mkdirSync(run.outDir, { recursive: true });
  const timeFile = join(run.outDir, 'time.txt');
  const useTime = existsSync(TIME);
  const [command, args] = useTime
    ? [TIME, ['-f', '%U %S %M', '-o', timeFile, run.binary, '-c', run.config]]
    : [run.binary, ['-c', run.config]];
  const env = {
    ...process.env,
    N: String(run.concurrency),
    IN: run.input,
    DIFY_URL: run.url.replace(/\/v1\/?$/, ''),
    DIFY_KEY: run.apiKey,
    ...(run.rateLimitPerSecond === undefined ? {} : benthosQuota(run.rateLimitPerSecond)),
  };
  const checker = new OutputChecker(
    run.count,
    (seq) => emulatedOutputs('workflow', makeRecord(seq, run.payloadBytes).inputs),
    run.ordered,
    workflowAnswerMatcher(run.payloadBytes),
  );
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const piped = await readResultLines(child.stdout, checker);
  const [code] = await exited;
  if (code !== 0) throw new Error(`benthos exited with ${code}`);
  const [user, system, maxRssKb] = useTime
    ? readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
    : [Number.NaN, Number.NaN, Number.NaN];
  return {
    wallMs: (piped.lastT1 - piped.firstT0) / 1e6,
    cpuUserUs: user! * 1e6,
    cpuSystemUs: system! * 1e6,
    rssStartMb: Number.NaN,
    rssWarmMb: Number.NaN,
    rssPeakMb: maxRssKb! / 1024,
    check: checker.report(),
    extra: {},
  };
}

/**
 * The `rate_limit` resource's env for R req/s: one request per 1/R s (burst 1, like dify-batch's token
 * bucket). Benthos' `local` limit with `count: R, interval: 1s` would release R requests at once each second.
 */
export function benthosQuota(perSecond: number): { RATE_COUNT: string; RATE_INTERVAL: string } {
  return { RATE_COUNT: '1', RATE_INTERVAL: `${Math.round(1e6 / perSecond)}us` };
}
