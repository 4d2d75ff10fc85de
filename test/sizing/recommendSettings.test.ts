import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rampSteps } from '../../src/sizing/rampConcurrency.js';
import { recommendSettings } from '../../src/sizing/recommendSettings.js';
import type { SizingStep } from '../../src/sizing/SizingStep.js';

/** A curve whose throughput grows with c up to `knee`, then stays flat (± noise), with or without rejections past it. */
function curve(
  knee: number,
  perCall: number,
  noise: readonly number[],
  rejectPastKnee: 'none' | 'concurrency' | 'quota',
  maxConcurrency: number,
): SizingStep[] {
  return rampSteps(maxConcurrency).map((c, i) => {
    const succeeded = 20 * Math.min(c, knee);
    const rejected = rejectPastKnee === 'none' || c <= knee ? 0 : 20 * (c - knee) * 3;
    return {
      concurrency: c,
      calls: succeeded + rejected,
      succeeded,
      limitRejections: rejected,
      rateRejections: rejectPastKnee === 'quota' ? rejected : 0,
      failed: 0,
      throughput: perCall * Math.min(c, knee) * (1 + (noise[i] ?? 0)),
      p50Ms: 100,
      p99Ms: c <= knee ? 300 : 300 * (c / knee),
      wallMs: 1000,
    };
  });
}

describe('recommendSettings', () => {
  it('lands within one step of the knee, whatever the curve', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.double({ min: 0.1, max: 500, noNaN: true }),
        fc.array(fc.double({ min: -0.04, max: 0.04, noNaN: true }), { minLength: 8, maxLength: 8 }),
        fc.constantFrom('none', 'concurrency', 'quota') as fc.Arbitrary<'none' | 'concurrency' | 'quota'>,
        (kneeLog, perCall, noise, kind) => {
          const knee = 2 ** kneeLog;
          const steps = curve(knee, perCall, noise, kind, 128);
          const { concurrency, rps } = recommendSettings(steps);
          expect(concurrency).toBeDefined();
          expect(Math.abs(Math.log2(concurrency!) - kneeLog)).toBeLessThanOrEqual(1);
          // A cap on the rate only when a quota answered 429, and never above what was achieved.
          if (kind === 'quota') expect(rps).toBeLessThanOrEqual(Math.max(...steps.map((s) => s.throughput)));
          else expect(rps).toBeUndefined();
        },
      ),
    );
  });

  it('never recommends a step that was refused, and none when every step was', () => {
    const steps = curve(4, 10, [], 'concurrency', 32);
    expect(recommendSettings(steps).concurrency).toBeLessThanOrEqual(4);
    const refused = steps.map((step) => ({
      ...step,
      limitRejections: step.calls,
      succeeded: 0,
      throughput: 0,
    }));
    expect(recommendSettings(refused).concurrency).toBeUndefined();
  });
});
