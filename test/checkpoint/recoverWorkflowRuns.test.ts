import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverWorkflowRuns } from '../../src/checkpoint/recoverWorkflowRuns.js';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { call, WORKFLOW_KEY } from '../emulator/helpers.js';
import { startStreamingRun } from './startStreamingRun.js';

let emulator: Emulator;
let base: string;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'fixed', ms: 300 } });
  base = emulator.url;
});
afterAll(async () => {
  await emulator.close();
});

const startAndDisconnect = (inputs: Record<string, unknown>) => startStreamingRun(base, inputs);

describe('emulator: a run whose client disconnected', () => {
  it('keeps running and its GET /workflows/run/{id} detail ends succeeded with the outputs', async () => {
    const inputs = { id: 'gone', text: 'still runs' };
    const runId = await startAndDisconnect(inputs);
    const running = JSON.parse((await call(base, `/workflows/run/${runId}`)).text);
    expect(running.status).toBe('running');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const detail = JSON.parse((await call(base, `/workflows/run/${runId}`)).text);
    expect(detail).toMatchObject({
      id: runId,
      status: 'succeeded',
      outputs: emulatedOutputs('workflow', inputs),
    });
  });
});

describe('recoverWorkflowRuns', () => {
  it('polls started runs to their results; unknown runs are left to be called again', async () => {
    const a = { id: 'a', text: 'one' };
    const failing = { id: 'f', text: 'two', __fault: 'failed' };
    const runA = await startAndDisconnect(a);
    const runF = await startAndDisconnect(failing);
    const callsBefore = emulator.stats().requests;
    const recovered = await recoverWorkflowRuns(
      new Map([
        [3, { id: 'a', workflowRunId: runA }],
        [5, { id: 'f', workflowRunId: runF }],
        [9, { id: 'x', workflowRunId: '00000000-0000-4000-8000-000000000000' }],
      ]),
      { baseUrl: base, apiKey: WORKFLOW_KEY, pollIntervalMs: 50 },
    );
    expect([...recovered.keys()].sort()).toEqual([3, 5]);
    expect(recovered.get(3)).toMatchObject({
      seq: 3,
      id: 'a',
      ok: true,
      outputs: emulatedOutputs('workflow', a),
      workflowRunId: runA,
    });
    expect(recovered.get(5)).toMatchObject({ seq: 5, ok: false, error: { code: 'ERR_DIFY_RUN_FAILED' } });
    // Polling is GET requests only: no run was started again.
    expect(emulator.stats().callsPerInput).toMatchObject({ a: 1, f: 1 });
    expect(emulator.stats().requests).toBeGreaterThan(callsBefore);
  });

  it('gives up on a run still running after maxWaitMs', async () => {
    emulator.configure({ latency: { kind: 'fixed', ms: 3_000 } });
    const runId = await startAndDisconnect({ id: 'slow' });
    const recovered = await recoverWorkflowRuns(new Map([[0, { id: 'slow', workflowRunId: runId }]]), {
      baseUrl: base,
      apiKey: WORKFLOW_KEY,
      pollIntervalMs: 50,
      maxWaitMs: 300,
    });
    expect(recovered.size).toBe(0);
    emulator.configure({ latency: { kind: 'fixed', ms: 300 } });
  });

  it('rejects bad options before any request, never quoting the key', async () => {
    const none = new Map<number, { id: string; workflowRunId: string }>();
    const before = emulator.stats().requests;
    await expect(
      recoverWorkflowRuns(none, { baseUrl: 'localhost:5001', apiKey: WORKFLOW_KEY }),
    ).rejects.toThrow('Expected `baseUrl` to be an http(s) URL, got `"localhost:5001"` (string)');
    const badKey = await recoverWorkflowRuns(none, { baseUrl: base, apiKey: '' }).catch((e: Error) => e);
    expect(badKey).toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringContaining('`apiKey`'),
    });
    await expect(
      recoverWorkflowRuns(none, {
        baseUrl: `http://user:${WORKFLOW_KEY}@127.0.0.1/v1`,
        apiKey: WORKFLOW_KEY,
      }),
    ).rejects.toThrow(/^(?!.*EmulatorWorkflowKey).*without credentials/);
    await expect(
      recoverWorkflowRuns(none, { baseUrl: base, apiKey: WORKFLOW_KEY, pollIntervalMs: 0 }),
    ).rejects.toThrow('`pollIntervalMs`');
    await expect(
      recoverWorkflowRuns(none, { baseUrl: base, apiKey: WORKFLOW_KEY, maxWaitMs: -1 }),
    ).rejects.toThrow('`maxWaitMs`');
    expect(emulator.stats().requests).toBe(before);
  });
});
