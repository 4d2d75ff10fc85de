import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QUICK_PARAMS } from '../../bench/BenchParams.js';
import { BenchRunner } from '../../bench/BenchRunner.js';
import { medianOf, summarizeRepeats } from '../../bench/summarizeRepeats.js';

describe('summarizeRepeats', () => {
  it('reports the median, not the mean, with the extremes', () => {
    expect(summarizeRepeats([100, 90, 1000])).toEqual({ median: 100, min: 90, max: 1000, runs: 3 });
    expect(summarizeRepeats([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, runs: 4 });
    expect(() => summarizeRepeats([])).toThrow(RangeError);
  });

  it('property: half the runs are at or below the median and half at or above, whatever their order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 9 }),
        (values) => {
          const { median, min, max, runs } = summarizeRepeats(values);
          expect(runs).toBe(values.length);
          expect(min).toBe(Math.min(...values));
          expect(max).toBe(Math.max(...values));
          expect(median).toBeGreaterThanOrEqual(min);
          expect(median).toBeLessThanOrEqual(max);
          expect(values.filter((v) => v <= median).length * 2).toBeGreaterThanOrEqual(values.length);
          expect(values.filter((v) => v >= median).length * 2).toBeGreaterThanOrEqual(values.length);
        },
      ),
    );
  });
});

describe('BenchRunner.interleaved', () => {
  it('runs A B C A B C …, and leaves a skipped run out', async () => {
    const runner = new BenchRunner(
      QUICK_PARAMS,
      {
        root: '/nowhere',
        out: '/nowhere',
        workerScript: '',
        emulatorScript: '',
        benthos: undefined,
        python: undefined,
      },
      false,
    );
    const order: string[] = [];
    const run =
      (name: string, skip = false) =>
      async () => {
        order.push(name);
        return skip ? undefined : `${name}${order.length}`;
      };
    const results = await runner.interleaved(3, [run('A'), run('B', true), run('C')]);
    expect(order).toEqual(['A', 'B', 'C', 'A', 'B', 'C', 'A', 'B', 'C']);
    expect(results).toEqual([['A1', 'A4', 'A7'], [], ['C3', 'C6', 'C9']]);
  });
});

describe('medianOf', () => {
  it('gives the median of a field with min–max for several runs, and no spread for one', () => {
    const runs = [{ v: 3 }, { v: 1 }, { v: 10 }];
    expect(medianOf(runs, (run) => run.v)).toEqual({ value: 3, spread: { min: 1, max: 10, runs: 3 } });
    expect(medianOf([{ v: 7 }], (run) => run.v)).toEqual({ value: 7 });
  });
});
