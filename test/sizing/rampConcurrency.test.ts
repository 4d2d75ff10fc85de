import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DifyClient } from '../../src/dify/DifyClient.js';
import type { DifyRequest } from '../../src/dify/DifyRequest.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { measureStep } from '../../src/sizing/measureStep.js';
import { maxRampCalls, rampConcurrency } from '../../src/sizing/rampConcurrency.js';
import { recommendSettings } from '../../src/sizing/recommendSettings.js';
import { rejectionShare } from '../../src/sizing/SizingStep.js';

const KEY = 'app-EmulatorWorkflowKey00001';
const LIMIT = 4;
let emulator: Emulator;

beforeAll(async () => {
  // Dify's app concurrency limit, answered its code path's way (400 invalid_param "Too many requests."),
  // in front of a log-normal app.
  emulator = await startEmulator({
    latency: { kind: 'lognormal', p50Ms: 20, p99Ms: 80 },
    maxActiveRequests: LIMIT,
  });
});
afterAll(() => emulator.close());

describe('rampConcurrency against the emulator', () => {
  it('finds the concurrency limit: recommendation within one step of it, calls within the printed bound', async () => {
    const client = new DifyClient({ baseUrl: emulator.url, apiKey: KEY, connections: 32 });
    const requests: DifyRequest[] = Array.from({ length: 7 }, (_, i) => ({
      app: 'workflow',
      inputs: { id: `s${i}`, text: `sample ${i}` },
      user: 'sizing-test',
      responseMode: 'blocking',
    }));
    try {
      const steps = await rampConcurrency({
        transport: client.transport,
        requests,
        maxConcurrency: 32,
        durationMs: 20_000,
        callsPerWorker: 15,
      });
      const sent = steps.reduce((sum, step) => sum + step.calls, 0);
      expect(sent).toBeLessThanOrEqual(maxRampCalls(32, 15));
      // Every call the ramp counted reached the emulator, and nothing else did.
      expect(emulator.stats().requests).toBe(sent);
      for (const step of steps) {
        if (step.concurrency <= LIMIT) expect(rejectionShare(step)).toBe(0);
        else expect(step.limitRejections).toBeGreaterThan(0);
        expect(step.failed).toBe(0);
      }
      // The ramp stops once a step is mostly refused instead of spending calls on 16 and 32.
      expect(steps.at(-1)!.concurrency).toBeLessThan(32);
      const { concurrency, rps } = recommendSettings(steps);
      expect(concurrency).toBeDefined();
      expect(Math.abs(Math.log2(concurrency!) - Math.log2(LIMIT))).toBeLessThanOrEqual(1);
      expect(rps).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});

describe('measureStep', () => {
  it('16 calls in flight on one abort signal raise no MaxListenersExceededWarning', async () => {
    emulator.configure({ maxActiveRequests: 0 });
    const client = new DifyClient({ baseUrl: emulator.url, apiKey: KEY, connections: 16 });
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      const step = await measureStep({
        transport: client.transport,
        requests: [{ app: 'workflow', inputs: { id: 'w' }, user: 'u', responseMode: 'blocking' }],
        concurrency: 16,
        maxCalls: 32,
        durationMs: 10_000,
        signal: new AbortController().signal,
      });
      expect(step).toMatchObject({ calls: 32, succeeded: 32, limitRejections: 0, failed: 0 });
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      emulator.configure({ maxActiveRequests: LIMIT });
      await client.close();
    }
  });
});
