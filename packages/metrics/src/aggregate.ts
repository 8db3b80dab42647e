/**
 * Aggregation of per-case values: mean, sample standard deviation (n - 1), counts, and the same per
 * fbRatio interval plus overall (the paper's "Avg" column: all cases pooled, not the mean of the
 * interval means). Missing values (null, undefined, NaN, +-Infinity) are excluded from mean and std
 * and counted in `missing`; empty-mask cases are counted in `emptyGt` / `emptyPred`.
 */
import { intervalIndex, intervalLabels, resolveIntervalEdges, type IntervalSpec } from './intervals';

export interface SummaryStats {
  /** Cases in the group. */
  n: number;
  /** Cases with a finite value (those entering mean and std). */
  count: number;
  /** Cases whose value is missing or undefined (null / NaN / infinite). */
  missing: number;
  /** Mean of the finite values; null when there are none. */
  mean: number | null;
  /** Sample standard deviation (divisor count - 1); null when count < 2. */
  std: number | null;
}

export const isFiniteValue = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** Mean, sample std and counts of `values`; non-finite entries are counted as missing. */
export function summarize(values: ReadonlyArray<number | null | undefined>): SummaryStats {
  if (!Array.isArray(values) && !ArrayBuffer.isView(values)) throw new TypeError('summarize: values must be an array of numbers (null for missing)');
  let count = 0;
  let mean = 0;
  let m2 = 0;
  for (const v of values) {
    if (!isFiniteValue(v)) continue;
    count++;
    const delta = v - mean; // Welford: numerically stable single pass
    mean += delta / count;
    m2 += delta * (v - mean);
  }
  return { n: values.length, count, missing: values.length - count, mean: count > 0 ? mean : null, std: count > 1 ? Math.sqrt(m2 / (count - 1)) : null };
}

/** What summarizeByInterval needs of a case: the ground truth's fbRatio and optional empty flags. */
export interface IntervalCase {
  fbRatio: number;
  emptyGt?: boolean;
  emptyPred?: boolean;
}

export interface GroupSummary extends SummaryStats {
  label: string;
  emptyGt: number;
  emptyPred: number;
}

export interface IntervalSummary extends GroupSummary {
  index: number;
  /** Interval bounds in percent of fbRatio. */
  lo: number;
  hi: number;
}

export interface IntervalSummaryTable {
  edges: readonly number[];
  intervals: IntervalSummary[];
  /** All cases, including those outside every interval ('Avg'). */
  overall: GroupSummary;
  /** Cases whose fbRatio lies outside the edges (in `overall`, in no interval). */
  outside: number;
}

function group(label: string, cases: readonly IntervalCase[], values: (number | null | undefined)[]): GroupSummary {
  return {
    label,
    ...summarize(values),
    emptyGt: cases.filter((c) => c.emptyGt === true).length,
    emptyPred: cases.filter((c) => c.emptyPred === true).length,
  };
}

/**
 * Summary statistics of `value(case)` per fbRatio interval of `intervals` and overall.
 *
 * @example summarizeByInterval(records, (r) => r.dice, 'ct')
 */
export function summarizeByInterval<T extends IntervalCase>(
  cases: readonly T[],
  value: (c: T) => number | null | undefined,
  intervals: IntervalSpec,
): IntervalSummaryTable {
  if (!Array.isArray(cases)) throw new TypeError('summarizeByInterval: cases must be an array of { fbRatio, ... }');
  if (typeof value !== 'function') throw new TypeError('summarizeByInterval: value must be a function returning the metric of a case');
  const edges = resolveIntervalEdges(intervals);
  const labels = intervalLabels(edges);
  const buckets: T[][] = labels.map(() => []);
  let outside = 0;
  cases.forEach((c, i) => {
    if (typeof c?.fbRatio !== 'number') throw new TypeError(`summarizeByInterval: cases[${i}].fbRatio must be a number, got ${typeof c?.fbRatio}`);
    const k = intervalIndex(c.fbRatio, edges);
    if (k < 0) outside++;
    else buckets[k].push(c);
  });
  return {
    edges,
    intervals: buckets.map((b, k) => ({ ...group(labels[k], b, b.map(value)), index: k, lo: edges[k], hi: edges[k + 1] })),
    overall: group('Avg', cases, cases.map(value)),
    outside,
  };
}
