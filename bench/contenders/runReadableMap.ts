import { Readable } from 'node:stream';
import { seqOfId } from '../workload.js';
import { type ContenderContext, check, settle } from './ContenderContext.js';

/**
 * Node's own ordered concurrent map: `Readable.from(records).map(fn, { concurrency })`, consumed with
 * `for await`. Bounded (concurrency + highWaterMark = `spec.window`), input order, head-of-line blocking. Per-item errors
 * are caught in `fn` (uncaught, the first one would end the stream).
 */
export async function runReadableMap(ctx: ContenderContext): Promise<Record<string, number>> {
  const { checker, sink, call } = ctx;
  const results = Readable.from(ctx.records()).map(
    async (record: { id: string; inputs: { id: string; text: string } }) => ({
      seq: seqOfId(record.id),
      outcome: await settle(call, record),
    }),
    // Read-ahead = concurrency + highWaterMark; without `window` Node's default highWaterMark applies.
    {
      concurrency: ctx.spec.concurrency,
      ...(ctx.spec.window === undefined ? {} : { highWaterMark: ctx.spec.window - ctx.spec.concurrency }),
    },
  );
  for await (const { seq, outcome } of results as AsyncIterable<{
    seq: number;
    outcome: Awaited<ReturnType<typeof settle>>;
  }>) {
    check(checker, seq, outcome);
    const wait = sink.pace(1);
    if (wait !== undefined) await wait;
  }
  return {};
}
