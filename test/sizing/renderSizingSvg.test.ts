import { describe, expect, it } from 'vitest';
import { renderSizingSvg } from '../../src/sizing/renderSizingSvg.js';
import type { SizingStep } from '../../src/sizing/SizingStep.js';

const step = (concurrency: number, throughput: number, limitRejections: number): SizingStep => ({
  concurrency,
  calls: 100,
  succeeded: 100 - limitRejections,
  limitRejections,
  rateRejections: 0,
  failed: 0,
  throughput,
  p50Ms: 100,
  p99Ms: limitRejections > 0 ? Number.NaN : 300,
  wallMs: 1000,
});

describe('renderSizingSvg', () => {
  it('one point per step, refused steps in red, the recommendation as a dashed line', () => {
    const svg = renderSizingSvg([step(1, 5, 0), step(2, 10, 0), step(4, 11, 60)], {
      concurrency: 2,
      rps: undefined,
      reason: 'test',
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg.match(/fill="#d62728"/g)).toHaveLength(1);
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('--concurrency 2');
    // A step without a p99 (nothing succeeded) leaves the latency line, never draws NaN.
    expect(svg).not.toContain('NaN');
  });

  it('no recommendation, no dashed line', () => {
    const svg = renderSizingSvg([step(1, 0, 100)], {
      concurrency: undefined,
      rps: undefined,
      reason: 'none',
    });
    expect(svg).not.toContain('stroke-dasharray');
    expect(svg).not.toContain('NaN');
  });
});
