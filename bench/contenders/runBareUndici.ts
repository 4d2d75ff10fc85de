import { seqOfId } from '../workload.js';
import { type ContenderContext, check, settle } from './ContenderContext.js';

/**
 * The physical limit: `concurrency` loops, each taking the next record and awaiting one undici request.
 * No ordering, batching, retry or backpressure machinery at all.
 */
export async function runBareUndici(ctx: ContenderContext): Promise<Record<string, number>> {
  const { checker, sink, call } = ctx;
  const records = ctx.records();
  const iterator =
    Symbol.asyncIterator in records ? records[Symbol.asyncIterator]() : records[Symbol.iterator]();
  const loop = async (): Promise<void> => {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      check(checker, seqOfId(next.value.id), await settle(call, next.value));
      const wait = sink.pace(1);
      if (wait !== undefined) await wait;
    }
  };
  await Promise.all(Array.from({ length: ctx.spec.concurrency }, loop));
  return {};
}
