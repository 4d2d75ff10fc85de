import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { emulatedOutputs } from '../src/emulator/emulatedOutputs.js';
import { OutputChecker } from './OutputChecker.js';
import type { WorkerReport } from './protocol.js';
import { makeRecord, seqOfId } from './workload.js';

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
  /** Emulator URL ending in /v1. */
  readonly url: string;
  readonly apiKey: string;
  /** Scratch folder for results.ndjson / dead.ndjson (emptied first). */
  readonly outDir: string;
}

const TIME = '/usr/bin/time';

/**
 * Runs Benthos on the workload file and checks its output files like any other contender's. Throughput
 * uses the first request's t0 and the last response's t1 stamped inside the pipeline, so process start-up
 * and shutdown are excluded as they are for the Node workers; CPU and peak RSS (via /usr/bin/time, when
 * present) cover the whole process.
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
    OUT: run.outDir,
    DIFY_URL: run.url.replace(/\/v1\/?$/, ''),
    DIFY_KEY: run.apiKey,
  };
  const child = spawn(command, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`benthos exited with ${code}`);

  const checker = new OutputChecker(
    run.count,
    (seq) => emulatedOutputs('workflow', makeRecord(seq, run.payloadBytes).inputs),
    run.ordered,
  );
  let firstT0 = Number.POSITIVE_INFINITY;
  let lastT1 = 0;
  for (const [file, ok] of [
    ['results.ndjson', true],
    ['dead.ndjson', false],
  ] as const) {
    const path = join(run.outDir, file);
    if (!existsSync(path)) continue;
    for await (const line of createInterface({
      input: createReadStream(path),
      crlfDelay: Number.POSITIVE_INFINITY,
    })) {
      if (line === '') continue;
      const message = JSON.parse(line) as {
        id?: string;
        t0?: number;
        t1?: number;
        error?: string;
        response?: { data?: { outputs?: unknown } };
      };
      firstT0 = Math.min(firstT0, message.t0 ?? firstT0);
      lastT1 = Math.max(lastT1, message.t1 ?? 0);
      const seq = seqOfId(message.id);
      if (ok) checker.ok(seq, message.response?.data?.outputs);
      else checker.fail(seq, message.error ?? 'dead-lettered');
    }
  }
  const [user, system, maxRssKb] = useTime
    ? readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
    : [Number.NaN, Number.NaN, Number.NaN];
  return {
    wallMs: (lastT1 - firstT0) / 1e6,
    cpuUserUs: user! * 1e6,
    cpuSystemUs: system! * 1e6,
    rssStartMb: Number.NaN,
    rssWarmMb: Number.NaN,
    rssPeakMb: maxRssKb! / 1024,
    check: checker.report(),
    extra: {},
  };
}
