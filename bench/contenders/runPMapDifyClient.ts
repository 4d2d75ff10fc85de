import { CompletionClient } from 'dify-client';
import pMap from 'p-map';
import { seqOfId } from '../workload.js';
import { type ContenderContext, check, type Settled } from './ContenderContext.js';

/** `runWorkflow` exists in dify-client 2.3.2's JavaScript but is missing from its index.d.ts. */
interface WorkflowClient {
  runWorkflow(
    inputs: unknown,
    user: string,
    stream?: boolean,
  ): Promise<{ data: { data?: { outputs?: unknown } } }>;
}

/**
 * What a Node user writes with the official SDK: `await pMap(records, r => client.runWorkflow(...),
 * { concurrency })` (dify-client 2.3.2, axios on Node's keep-alive global agent). Results come back as
 * one array in input order at the end; the SDK has no retry.
 */
export async function runPMapDifyClient(ctx: ContenderContext): Promise<Record<string, number>> {
  const { transport } = ctx.spec;
  if (transport.kind !== 'http') throw new Error('p-map+dify-client needs the HTTP transport');
  const client = new CompletionClient(transport.apiKey, transport.url) as unknown as WorkflowClient;
  const outcomes = await pMap(
    ctx.records(),
    async (record): Promise<{ seq: number; outcome: Settled }> => {
      try {
        const response = await client.runWorkflow(record.inputs, 'bench');
        return { seq: seqOfId(record.id), outcome: { ok: true, outputs: response.data.data?.outputs } };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { seq: seqOfId(record.id), outcome: { ok: false, message } };
      }
    },
    { concurrency: ctx.spec.concurrency },
  );
  for (const { seq, outcome } of outcomes) check(ctx.checker, seq, outcome);
  await ctx.sink.pace(outcomes.length);
  return {};
}
