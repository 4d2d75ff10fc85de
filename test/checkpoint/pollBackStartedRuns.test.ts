import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalContents } from '../../src/checkpoint/FileCheckpoint.js';
import { pollBackStartedRuns } from '../../src/checkpoint/pollBackStartedRuns.js';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { WORKFLOW_KEY } from '../emulator/helpers.js';
import { startStreamingRun } from './startStreamingRun.js';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'fixed', ms: 100 } });
});
afterAll(async () => {
  await emulator.close();
});

const done = (seq: number): ItemResult => ({
  seq,
  id: `done-${seq}`,
  ok: true,
  outputs: { seq },
  attempts: 1,
  latencyMs: 1,
});

describe('pollBackStartedRuns', () => {
  it('polls back the started runs of a streaming workflow run and keeps the journaled results', async () => {
    const inputs = { id: 'a', text: 'started before the crash' };
    const runA = await startStreamingRun(emulator.url, inputs);
    const journal: JournalContents = {
      results: new Map([[1, done(1)]]),
      runIds: new Map([
        [2, { id: 'a', workflowRunId: runA }],
        [4, { id: 'x', workflowRunId: '00000000-0000-4000-8000-000000000000' }],
      ]),
    };
    const out = await pollBackStartedRuns(journal, {
      app: 'workflow',
      responseMode: 'streaming',
      baseUrl: emulator.url,
      apiKey: WORKFLOW_KEY,
      pollIntervalMs: 20,
    });
    expect(out.polled).toBe(2);
    expect(out.recovered).toBe(1);
    expect([...out.journal.results.keys()].sort()).toEqual([1, 2]);
    expect(out.journal.results.get(1)).toEqual(done(1));
    expect(out.journal.results.get(2)).toMatchObject({
      seq: 2,
      id: 'a',
      ok: true,
      outputs: emulatedOutputs('workflow', inputs),
      workflowRunId: runA,
    });
    // The unknown run is left out: its item is called again. No run id is carried into the new journal.
    expect(out.journal.runIds.size).toBe(0);
    // Polling never starts a run again.
    expect(emulator.stats().callsPerInput).toMatchObject({ a: 1 });
    // The journal given is not changed.
    expect([...journal.results.keys()]).toEqual([1]);
    expect(journal.runIds.size).toBe(2);
  });

  it('polls nothing for any other app or response mode: results kept, run ids dropped, no request', async () => {
    const shapes = fc.oneof(
      fc.record({
        app: fc.constantFrom('completion', 'chat'),
        responseMode: fc.constantFrom('blocking', 'streaming'),
      }),
      fc.record({ app: fc.constant('workflow'), responseMode: fc.constant('blocking') }),
    );
    const seqs = fc.uniqueArray(fc.nat(1000), { maxLength: 20 });
    await fc.assert(
      fc.asyncProperty(shapes, seqs, seqs, async (shape, doneSeqs, startedSeqs) => {
        const journal: JournalContents = {
          results: new Map(doneSeqs.map((seq) => [seq, done(seq)])),
          runIds: new Map(startedSeqs.map((seq) => [seq, { id: `s${seq}`, workflowRunId: `run-${seq}` }])),
        };
        const before = emulator.stats().requests;
        const out = await pollBackStartedRuns(journal, {
          ...shape,
          baseUrl: emulator.url,
          apiKey: WORKFLOW_KEY,
        });
        expect(out).toMatchObject({ polled: 0, recovered: 0 });
        expect(out.journal.results).toEqual(journal.results);
        expect(out.journal.runIds.size).toBe(0);
        expect(emulator.stats().requests).toBe(before);
      }),
      { numRuns: 50 },
    );
  });

  it('a streaming workflow run with no started runs makes no request', async () => {
    const before = emulator.stats().requests;
    const out = await pollBackStartedRuns(
      { results: new Map([[0, done(0)]]), runIds: new Map() },
      { app: 'workflow', responseMode: 'streaming', baseUrl: emulator.url, apiKey: WORKFLOW_KEY },
    );
    expect(out).toMatchObject({ polled: 0, recovered: 0 });
    expect(out.journal.results.get(0)).toEqual(done(0));
    expect(emulator.stats().requests).toBe(before);
  });

  it('rejects with the signal reason when aborted while polling', async () => {
    const runId = await startStreamingRun(emulator.url, { id: 'aborted' });
    const controller = new AbortController();
    const reason = new Error('stop');
    const polling = pollBackStartedRuns(
      { results: new Map(), runIds: new Map([[0, { id: 'aborted', workflowRunId: runId }]]) },
      {
        app: 'workflow',
        responseMode: 'streaming',
        baseUrl: emulator.url,
        apiKey: WORKFLOW_KEY,
        pollIntervalMs: 10_000,
        signal: controller.signal,
      },
    );
    setTimeout(() => controller.abort(reason), 50);
    await expect(polling).rejects.toBe(reason);
  });
});
