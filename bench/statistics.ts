/**
 * Summaries of repeated measurements: the median with the smallest and largest value, and
 * the ratio of the baseline's median to ours.
 *
 * @module
 */

/** A figure measured several times. */
export interface Summary {
  /** The median (the mean of the two middle values for an even count). */
  median: number;
  /** The smallest value. */
  min: number;
  /** The largest value. */
  max: number;
  /** How many values were measured. */
  count: number;
}

/** The median of `values`; throws when there are none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Median, min and max of `values`, or undefined when nothing was measured. */
export function summarize(values: readonly number[]): Summary | undefined {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return undefined;
  return {
    median: median(finite),
    min: Math.min(...finite),
    max: Math.max(...finite),
    count: finite.length,
  };
}

/**
 * baseline / ours, or undefined when either is missing or ours is zero (the ratio would be
 * infinite; the table then shows both values and no ratio).
 */
export function ratio(baseline: number | undefined, ours: number | undefined): number | undefined {
  if (baseline === undefined || ours === undefined || ours === 0) return undefined;
  return baseline / ours;
}
