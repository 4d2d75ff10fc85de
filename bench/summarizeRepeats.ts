/** The median of repeated measurements, and their extremes. */
export interface RepeatSummary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

/** Median (mean of the two middle values for an even count), min and max of `values` (at least one). */
export function summarizeRepeats(values: readonly number[]): RepeatSummary {
  if (values.length === 0) throw new RangeError('summarizeRepeats: no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, runs: sorted.length };
}

/**
 * A result row's `value` and `spread` for repeated runs of one contender: the median of `of` over `runs`
 * (at least one), with min–max when there were several.
 */
export function medianOf<T>(
  runs: readonly T[],
  of: (run: T) => number,
): { value: number; spread?: { min: number; max: number; runs: number } } {
  const { median, min, max, runs: n } = summarizeRepeats(runs.map(of));
  return n > 1 ? { value: median, spread: { min, max, runs: n } } : { value: median };
}
