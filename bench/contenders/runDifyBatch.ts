import type { ItemResult } from '../../src/core/ItemResult.js';
import type { DifyTransport } from '../../src/dify/DifyRequest.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import type { ResultSink } from '../../src/sinks/ResultSink.js';
import { fromAsyncIterable, fromFile } from '../../src/sources/index.js';
import { generateRecords, seqOfId } from '../workload.js';
import type { ContenderContext } from './ContenderContext.js';

/** Attempts per record (first included) unless a scenario sets `maxAttempts`; shown in RESULTS.md. */
export const DIFY_BATCH_BENCH_ATTEMPTS = 4;
/** Window (read-ahead) per unit of concurrency unless a scenario sets `window`: passed explicitly, so a change of runBatch's default cannot change the bench silently. */
export const DIFY_BATCH_BENCH_WINDOW_PER_C = 16;

/**
 * dify-batch itself: `runBatch` with its own source (`fromFile` for files), its DifyClient (or an
 * in-process echo transport), and a sink that hands each result to the checker.
 */
export async function runDifyBatch(ctx: ContenderContext, ordered: boolean): Promise<Record<string, number>> {
  const { spec, checker, sink: paced } = ctx;
  const source =
    spec.source.kind === 'file'
      ? fromFile(spec.source.path, { idField: 'id' })
      : fromAsyncIterable(generateRecords(spec.source.count, spec.source.payloadBytes), { idField: 'id' });
  const sink: ResultSink = {
    write: async (batch: readonly ItemResult[]) => {
      for (const result of batch) {
        const seq = seqOfId(result.id);
        if (result.seq !== seq) checker.fail(seq, `result seq ${result.seq} does not match id ${result.id}`);
        else if (result.ok) checker.ok(seq, result.outputs);
        else checker.fail(seq, `${result.error.code}: ${result.error.message}`);
      }
      await paced.pace(batch.length);
    },
    close: async () => {},
  };
  const echo = ctx.echo;
  const transport: DifyTransport = async (request) => ({ outputs: echo(request.inputs as { id: string }) });
  const summary = await runBatch({
    source,
    sink,
    ...(spec.transport.kind === 'http'
      ? {
          dify: { baseUrl: spec.transport.url, apiKey: spec.transport.apiKey, connections: spec.concurrency },
        }
      : { transport }),
    app: 'workflow',
    inputsField: 'inputs',
    concurrency: spec.concurrency,
    window: spec.window ?? DIFY_BATCH_BENCH_WINDOW_PER_C * spec.concurrency,
    ordered,
    retry: { maxAttempts: spec.maxAttempts ?? DIFY_BATCH_BENCH_ATTEMPTS },
    ...(spec.rateLimitPerSecond === undefined ? {} : { rateLimit: { perSecond: spec.rateLimitPerSecond } }),
    // Explicit either way: runBatch adapts by default, the scenarios compare fixed and adaptive.
    adaptiveConcurrency: spec.adaptiveConcurrency === true,
  });
  return { retries: summary.retries, peakOutstanding: summary.peakOutstanding };
}
