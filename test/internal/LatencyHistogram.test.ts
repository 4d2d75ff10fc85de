import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/internal/LatencyHistogram.js';

/** The nearest-rank quantile of the exact values: what the histogram approximates. */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** 3 significant digits of the HDR histogram, plus the 1 µs (0.0005 ms rounding) resolution. */
function near(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= expected * 2e-3 + 1e-3;
}

const latencies = fc.array(fc.double({ min: 0, max: 3_600_000, noNaN: true }), {
  minLength: 1,
  maxLength: 300,
});

describe('LatencyHistogram', () => {
  it('reports zeros before anything is recorded', () => {
    const h = new LatencyHistogram();
    expect([h.count, h.mean, h.max, h.quantile(0), h.quantile(0.5), h.quantile(1)]).toEqual([
      0, 0, 0, 0, 0, 0,
    ]);
  });

  it('quantiles, mean and max stay within 0.2% of the exact values', () => {
    fc.assert(
      fc.property(latencies, fc.double({ min: 0.001, max: 1, noNaN: true }), (values, q) => {
        const h = new LatencyHistogram();
        for (const v of values) h.record(v);
        // What the histogram holds: whole microseconds, at least 1.
        const held = values.map((v) => Math.max(1, Math.round(v * 1000)) / 1000).sort((a, b) => a - b);
        const mean = held.reduce((sum, v) => sum + v, 0) / held.length;
        expect(h.count).toBe(values.length);
        expect(near(h.mean, mean)).toBe(true);
        expect(near(h.max, held.at(-1)!)).toBe(true);
        expect(near(h.quantile(q), exactQuantile(held, q))).toBe(true);
        expect(near(h.quantile(0), held[0]!)).toBe(true);
      }),
    );
  });

  it('answers with the nearest rank, as small runs need (p90 of 7 values is the 7th)', () => {
    const h = new LatencyHistogram();
    for (const ms of [1, 2, 3, 4, 5, 6, 7]) h.record(ms);
    expect([h.quantile(0.9), h.quantile(0.5), h.quantile(0)].map(Math.round)).toEqual([7, 4, 1]);
  });

  it('keeps sub-millisecond latencies apart (microsecond resolution)', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 99; i++) h.record(0.05);
    h.record(0.9);
    expect(h.quantile(0.5)).toBeCloseTo(0.05, 4);
    expect(h.quantile(1)).toBeCloseTo(0.9, 3);
    expect(h.max).toBeCloseTo(0.9, 3);
  });
});
