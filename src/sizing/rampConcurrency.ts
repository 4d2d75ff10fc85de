import type { DifyRequest, DifyTransport } from '../dify/DifyRequest.js';
import { measureStep } from './measureStep.js';
import { rejectionShare, type SizingStep } from './SizingStep.js';

export interface RampOptions {
  readonly transport: DifyTransport;
  readonly requests: readonly DifyRequest[];
  /** The last step's concurrency is the largest power of two ≤ this. @defaultValue 64 */
  readonly maxConcurrency?: number;
  /** The whole ramp's time budget, split evenly between the steps. @defaultValue 60000 */
  readonly durationMs?: number;
  /** Calls per worker per step at most: a step at concurrency c sends ≤ c × this calls. @defaultValue 20 */
  readonly callsPerWorker?: number;
  /**
   * Stop ramping after a step where more than this share of calls hit a limit, or failed otherwise:
   * higher steps would only spend the user's calls on rejections. @defaultValue 0.5
   */
  readonly stopShare?: number;
  /** Told each step as it ends (for live printing). */
  readonly onStep?: ((step: SizingStep) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Every {@link RampOptions} default, in one place. */
export const RAMP_DEFAULTS = Object.freeze({
  maxConcurrency: 64,
  durationMs: 60_000,
  callsPerWorker: 20,
  stopShare: 0.5,
});

/** 1, 2, 4, … up to the largest power of two ≤ `maxConcurrency`. */
export function rampSteps(maxConcurrency: number): number[] {
  const steps: number[] = [];
  for (let c = 1; c <= maxConcurrency; c *= 2) steps.push(c);
  return steps;
}

/** The most calls a ramp can send: printed before it starts. */
export function maxRampCalls(maxConcurrency: number, callsPerWorker: number): number {
  return rampSteps(maxConcurrency).reduce((sum, c) => sum + c * callsPerWorker, 0);
}

/**
 * Ramps concurrency 1, 2, 4, … against the app, one {@link measureStep} per level, and stops early
 * once a step is mostly rejections or failures. Never sends more than {@link maxRampCalls} calls.
 */
export async function rampConcurrency(options: RampOptions): Promise<SizingStep[]> {
  const maxConcurrency = options.maxConcurrency ?? RAMP_DEFAULTS.maxConcurrency;
  const durationMs = options.durationMs ?? RAMP_DEFAULTS.durationMs;
  const callsPerWorker = options.callsPerWorker ?? RAMP_DEFAULTS.callsPerWorker;
  const stopShare = options.stopShare ?? RAMP_DEFAULTS.stopShare;
  const levels = rampSteps(maxConcurrency);
  const steps: SizingStep[] = [];
  for (const concurrency of levels) {
    const step = await measureStep({
      transport: options.transport,
      requests: options.requests,
      concurrency,
      maxCalls: concurrency * callsPerWorker,
      durationMs: durationMs / levels.length,
      signal: options.signal,
    });
    steps.push(step);
    options.onStep?.(step);
    const failedShare = step.calls === 0 ? 0 : step.failed / step.calls;
    if (rejectionShare(step) > stopShare || failedShare > stopShare) break;
  }
  return steps;
}
