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
  type MeasureCommand,
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

/** A contender's context for `spec` (its records, checker, sink and, over HTTP, its own undici pool). */
function openContext(spec: ContenderSpec): { ctx: ContenderContext; close(): Promise<void> } {
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
  return { ctx: { spec, checker, sink, records: openRecords(source), call, echo: echoOutputs }, close };
}

/**
 * `spec.warmup` records through the same contender with its own context, untimed; a warm-up whose output
 * fails its check is an error (the measured run would not be comparable). Then the parent resets the
 * emulator's counters and says when to start the clock.
 */
async function warmUp(spec: ContenderSpec, count: number): Promise<void> {
  const warm = openContext({
    ...spec,
    source: { kind: 'generated', count, payloadBytes: spec.source.payloadBytes },
    sinkItemsPerSecond: undefined,
    profile: undefined,
  });
  await RUNNERS[spec.contender](warm.ctx);
  await warm.close();
  const check = warm.ctx.checker.report();
  if (!check.valid) throw new Error(`warm-up output check failed: ${check.problems.join('; ')}`);
  const measure = new Promise<void>((resolve) => {
    process.once('message', (command: MeasureCommand) => {
      if (command.type === 'measure') resolve();
    });
  });
  process.send?.({ type: 'warmed' } satisfies WorkerMessage);
  await measure;
}

async function runContender(spec: ContenderSpec): Promise<WorkerReport> {
  if (spec.warmup !== undefined && spec.warmup > 0) await warmUp(spec, spec.warmup);
  const { ctx, close } = openContext(spec);
  const { checker, sink } = ctx;

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
