import { bufferCount, concatMap, from, lastValueFrom } from 'rxjs';
import { type ContenderContext, checkAll, settle } from './ContenderContext.js';

/**
 * The pattern most hand-written batch scripts use: cut the input into chunks of `concurrency`
 * (`bufferCount`) and `Promise.all` each chunk, one chunk after the other. Ordered; every chunk waits for
 * its slowest call (a barrier).
 */
export async function runNaiveChunks(ctx: ContenderContext): Promise<Record<string, number>> {
  const { checker, sink, call } = ctx;
  await lastValueFrom(
    from(ctx.records()).pipe(
      bufferCount(ctx.spec.concurrency),
      concatMap(async (chunk) => {
        const outcomes = await Promise.all(chunk.map((record) => settle(call, record)));
        checkAll(checker, chunk, outcomes);
        await sink.pace(chunk.length);
      }),
    ),
    { defaultValue: undefined },
  );
  return {};
}
