import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { checkpointPaths, FileCheckpoint } from '../../checkpoint/FileCheckpoint.js';
import { fingerprintInput } from '../../checkpoint/fingerprintInput.js';
import { pollBackStartedRuns } from '../../checkpoint/pollBackStartedRuns.js';
import type { ItemResult } from '../../core/ItemResult.js';
import { DifyClient } from '../../dify/DifyClient.js';
import type { DifyTransport } from '../../dify/DifyRequest.js';
import type { CallOutcome } from '../../limits/AdaptiveConcurrency.js';
import type { RetryPolicy } from '../../operators/retryBackoff.js';
import type { RunSummary } from '../../pipeline/RunSummary.js';
import { runBatch } from '../../pipeline/runBatch.js';
import type { ResultSink } from '../../sinks/ResultSink.js';
import { toDeadLetter } from '../../sinks/toDeadLetter.js';
import { toFile } from '../../sinks/toFile.js';
import { fromFile } from '../../sources/fromFile.js';
import type { FairLanes } from './FairLanes.js';
import type { JobRecord } from './JobRecord.js';
import type { ItemFailureLine, JobStats } from './JobStats.js';
import type { JobPaths } from './JobStore.js';

/** What one run (or resumed run) of a job needs. */
export interface RunJobContext {
  readonly record: JobRecord;
  readonly paths: JobPaths;
  /** The key sent upstream: the owner's, or the gateway's own `--api-key`. */
  readonly apiKey: string;
  readonly upstream: string;
  readonly lanes: FairLanes;
  readonly stats: JobStats;
  readonly retry?: Readonly<RetryPolicy> | undefined;
  /** Cancel, or the gateway closing: stops the run (its checkpoint stays for a resume). */
  readonly signal: AbortSignal;
  /** Called after each written batch (throttled by runBatch). */
  readonly onProgress: () => void;
}

/**
 * Runs a job to the end, or continues it from its checkpoint: a runBatch over the stored input with a
 * {@link FileCheckpoint} beside `results.ndjson`, whose every attempt takes its turn in {@link FairLanes}
 * (the gateway's one concurrency, round robin between jobs).
 *
 * @remarks
 * After a SIGKILL the checkpoint says where the input continues and how many bytes of results and dead
 * letters are good; the files are cut back to those lengths and the journal's results (calls already
 * paid for) are reused, so the results hold exactly one line per input, in order.
 */
export async function runJob(ctx: RunJobContext): Promise<RunSummary | 'already-complete'> {
  const { record, paths, stats } = ctx;
  const inputPath = paths.input(record.input.format);
  const journalPaths = checkpointPaths(paths.results);
  const previous = await FileCheckpoint.load(journalPaths.checkpoint);
  if (previous?.complete === true) return 'already-complete';
  const input = await fingerprintInput(inputPath, undefined, ctx.signal);
  const options = {
    app: record.options.app,
    responseMode: record.options.response_mode,
    idField: record.options.id_field ?? null,
    inputsField: record.options.inputs_field ?? null,
    queryField: record.options.query_field ?? null,
  };
  let checkpoint: FileCheckpoint;
  if (previous === undefined) {
    checkpoint = await FileCheckpoint.open({
      header: {
        input,
        options,
        output: { path: paths.results, format: 'ndjson', bytes: 0 },
        deadLetter: { path: paths.errors, format: 'ndjson', bytes: 0 },
        nextSeq: 0,
        written: 0,
        failed: 0,
        inputLine: 0,
        inputOffset: 0,
      },
    });
  } else {
    // Streaming workflow runs seen started before the crash are polled back, not paid for twice; a run
    // that cannot be recovered (unknown, still running after the wait) is called again.
    const { journal } = await pollBackStartedRuns(
      await FileCheckpoint.readJournal(journalPaths.journal, previous.nextSeq),
      {
        app: record.options.app,
        responseMode: record.options.response_mode,
        baseUrl: ctx.upstream,
        apiKey: ctx.apiKey,
        signal: ctx.signal,
      },
    );
    const { version: _v, updatedAt: _u, complete: _c, ...header } = previous;
    checkpoint = await FileCheckpoint.open({ header: { ...header, input }, recovered: journal });
    // The checkpoint is the truth for the counts: results past it are written again.
    stats.restore(
      previous.written,
      previous.failed,
      await deadLetters(paths.errors, previous.deadLetter?.bytes ?? 0),
    );
  }
  const client = new DifyClient({
    baseUrl: ctx.upstream,
    apiKey: ctx.apiKey,
    connections: record.options.concurrency,
  });
  const transport: DifyTransport = async (request, callOptions) => {
    const signal = callOptions.signal ?? ctx.signal;
    const slot = await ctx.lanes.acquire(record.id, signal);
    let outcome: CallOutcome = 'other';
    try {
      const result = await client.transport(request, callOptions);
      outcome = 'ok';
      return result;
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === 'ERR_DIFY_RATE_LIMITED') outcome = 'rate-limited';
      throw error;
    } finally {
      slot.release(outcome);
    }
  };
  const resumeAt = previous === undefined ? undefined : previous.output.bytes;
  const deadLetterAt = previous?.deadLetter?.bytes;
  let complete = false;
  stats.startRun(Date.now());
  try {
    const summary = await runBatch({
      source: fromFile(inputPath, {
        format: record.input.format,
        ...(record.options.id_field === undefined ? {} : { idField: record.options.id_field }),
        ...(previous === undefined
          ? {}
          : {
              resumeFrom: { seq: previous.nextSeq, line: previous.inputLine, offset: previous.inputOffset },
            }),
        signal: ctx.signal,
      }),
      sink: counting(toFile(paths.results, { format: 'ndjson', resumeAt }), stats),
      deadLetter: toDeadLetter(paths.errors, { format: 'ndjson', resumeAt: deadLetterAt }),
      transport,
      app: record.options.app,
      responseMode: record.options.response_mode,
      user: record.options.user,
      ...(record.options.inputs_field === undefined ? {} : { inputsField: record.options.inputs_field }),
      ...(record.options.query_field === undefined ? {} : { queryField: record.options.query_field }),
      concurrency: record.options.concurrency,
      // The gateway's scheduler adapts the shared limit; a second AIMD per job would only fight it.
      adaptiveConcurrency: false,
      ...(ctx.retry === undefined ? {} : { retry: ctx.retry }),
      checkpoint,
      ...(previous === undefined ? {} : { firstSeq: previous.nextSeq }),
      signal: ctx.signal,
      progressIntervalMs: 200,
      onProgress: (progress) => {
        stats.progress((previous?.nextSeq ?? 0) + progress.read, progress.retries);
        ctx.onProgress();
      },
    });
    complete = true;
    return summary;
  } finally {
    if (complete) await checkpoint.complete();
    else checkpoint.close();
    await client.close();
  }
}

/** The `_error` of each dead-letter line in the first `bytes` bytes of the file. */
async function deadLetters(path: string, bytes: number): Promise<ItemFailureLine[]> {
  const found: ItemFailureLine[] = [];
  if (bytes === 0) return found;
  const input = createReadStream(path, { start: 0, end: bytes - 1 });
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line === '') continue;
    const error = (JSON.parse(line) as { _error?: ItemFailureLine })._error;
    if (error !== undefined) found.push(error);
  }
  return found;
}

/** The results sink, counting each result into the job's statistics once it is written. */
function counting(sink: ResultSink, stats: JobStats): ResultSink {
  return {
    async write(batch: readonly ItemResult[]) {
      await sink.write(batch);
      for (const result of batch) stats.add(result);
    },
    close: (options) => sink.close(options),
    get bytesWritten() {
      return sink.bytesWritten;
    },
    ...(sink.sync === undefined ? {} : { sync: () => sink.sync!() }),
  };
}
