import { request } from 'undici';
import { dataEvents, WORKFLOW_KEY } from '../emulator/helpers.js';

/**
 * Starts a streaming workflow run on the emulator at `base`, reads up to `workflow_started`, then drops
 * the connection (a client crashing mid-run); resolves with the run's `workflow_run_id`.
 */
export async function startStreamingRun(base: string, inputs: Record<string, unknown>): Promise<string> {
  const controller = new AbortController();
  const response = await request(`${base}/workflows/run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${WORKFLOW_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs, user: 'u1', response_mode: 'streaming' }),
    signal: controller.signal,
  });
  const iterator = response.body[Symbol.asyncIterator]();
  let text = '';
  while (!text.includes('"workflow_started"')) text += String((await iterator.next()).value);
  const started = dataEvents(text.slice(0, text.lastIndexOf('\n\n') + 2))[0]!;
  controller.abort();
  await iterator.return?.().catch(() => {});
  return started.workflow_run_id as string;
}
