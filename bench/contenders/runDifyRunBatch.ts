import type { BenchRecord } from '../workload.js';
import { type ContenderContext, checkAll, settle } from './ContenderContext.js';

/** Dify's web app default `BATCH_CONCURRENCY` (dify-api.md §6). */
export const RUN_BATCH_GROUP_SIZE = 5;

/**
 * The policy of Dify's web "Run Batch" (dify-api.md §6): tasks start in groups of 5 and the next group
 * starts only when the whole previous group has finished. Re-implemented with blocking calls (the web app
 * streams, which does not change the scheduling). Ignores `spec.concurrency`: 5 is the policy.
 */
export async function runDifyRunBatch(ctx: ContenderContext): Promise<Record<string, number>> {
  const { checker, sink, call } = ctx;
  const runGroup = async (group: readonly BenchRecord[]): Promise<void> => {
    const outcomes = await Promise.all(group.map((record) => settle(call, record)));
    checkAll(checker, group, outcomes);
    await sink.pace(group.length);
  };
  let group: BenchRecord[] = [];
  for await (const record of ctx.records()) {
    group.push(record);
    if (group.length === RUN_BATCH_GROUP_SIZE) {
      await runGroup(group);
      group = [];
    }
  }
  if (group.length > 0) await runGroup(group);
  return {};
}
