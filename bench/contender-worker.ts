/**
 * Child-process entry: runs ONE contender on one workload and reports wall time, CPU, RSS and the output
 * check to the parent over IPC. Set-up (clients, pools) happens before the clock starts.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { emulatedOutputs } from '../src/emulator/emulatedOutputs.js';
import {
  type CallFn,
  type ContenderContext,
  createUndiciCall,
  echoOutputs,
  openRecords,
  PacedSink,
} from './contenders/ContenderContext.js';
import { runBareUndici } from './contenders/runBareUndici.js';
import { runDifyBatch } from './contenders/runDifyBatch.js';
import { runDifyRunBatch } from './contenders/runDifyRunBatch.js';
import { runNaiveChunks } from './contenders/runNaiveChunks.js';
import { runPMapDifyClient } from './contenders/runPMapDifyClient.js';
import { runReadableMap } from './contenders/runReadableMap.js';
import { OutputChecker } from './OutputChecker.js';
import {
  type ContenderSpec,
  type NodeContender,
  ORDERED_CONTENDERS,
  type WorkerMessage,
  type WorkerReport,
} from './protocol.js';
import { workflowAnswerMatcher } from './workflowAnswerMatcher.js';
import { makeRecord, recordId } from './workload.js';

type Runner = (ctx: ContenderContext) => Promise<Record<string, number>>;

const RUNNERS: Readonly<Record<NodeContender, Runner>> = {
  'dify-batch-ordered': (ctx) => runDifyBatch(ctx, true),
  'dify-batch-unordered': (ctx) => runDifyBatch(ctx, false),
  'naive-chunks': runNaiveChunks,
  'dify-run-batch': runDifyRunBatch,
  'p-map+dify-client': runPMapDifyClient,
  'readable-map': runReadableMap,
  'bare-undici': runBareUndici,
};

const MB = 1024 * 1024;

async function runContender(spec: ContenderSpec): Promise<WorkerReport> {
  const { source, transport } = spec;
  const expected =
    transport.kind === 'http'
      ? (seq: number) => emulatedOutputs('workflow', makeRecord(seq, source.payloadBytes).inputs)
      : (seq: number) => echoOutputs(makeRecord(seq, 0).inputs);
  const matches =
    transport.kind === 'http'
      ? workflowAnswerMatcher(source.payloadBytes)
      : (seq: number, outputs: unknown) => {
          const o = outputs as { echo?: unknown } | null | undefined;
          return (
            typeof o === 'object' && o !== null && Object.keys(o).length === 1 && o.echo === recordId(seq)
          );
        };
  const checker = new OutputChecker(source.count, expected, ORDERED_CONTENDERS.has(spec.contender), matches);
  let call: CallFn;
  let close = async (): Promise<void> => {};
  if (transport.kind === 'http') {
    const undici = createUndiciCall(transport.url, transport.apiKey, spec.concurrency);
    call = undici.call;
    close = undici.close;
  } else {
    call = async (record) => echoOutputs(record.inputs);
  }
  const sink = new PacedSink(spec.sinkItemsPerSecond, source.count);
  const ctx: ContenderContext = {
    spec,
    checker,
    sink,
    records: openRecords(source),
    call,
    echo: echoOutputs,
  };

  const rssStart = process.memoryUsage.rss();

  const profiler = spec.profile === undefined ? undefined : await startProfiler(spec.profile.intervalUs);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const extra = await RUNNERS[spec.contender](ctx);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (profiler !== undefined && spec.profile !== undefined) await profiler.stop(spec.profile.path);
  await close();
  return {
    wallMs,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    rssStartMb: rssStart / MB,
    rssWarmMb: (sink.rssWarm || rssStart) / MB,
    rssPeakMb: (process.resourceUsage().maxRSS * 1024) / MB,
    ...(sink.heapAfterGc === undefined
      ? {}
      : { heapAfterGcMb: sink.heapAfterGc.map((bytes) => bytes / MB) as [number, number, number] }),
    check: checker.report(),
    extra,
  };
}

/**
 * V8's sampling profiler around the run alone (`--cpu-prof` would also profile start-up and set-up, which
 * dominate a short run); `stop` writes the `.cpuprofile`.
 */
async function startProfiler(intervalUs: number): Promise<{ stop(path: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return {
    stop: async (path) => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

function reply(message: WorkerMessage): void {
  process.send?.(message, undefined, undefined, () => process.exit(0));
}

process.once('message', (spec: ContenderSpec) => {
  runContender(spec).then(
    (report) => reply({ type: 'report', report }),
    (error: unknown) =>
      reply({
        type: 'error',
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  );
});
