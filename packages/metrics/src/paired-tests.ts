/**
 * Paired significance tests between two methods over the same cases: Student's paired t-test (the
 * paper's test, Tables I-IV) and the Wilcoxon signed-rank test. Distributions come from @stdlib.
 *
 * Conventions: pairs where either value is missing (null / NaN / infinite) are dropped and counted
 * in `dropped`; at least two complete pairs are required. All differences zero -> statistic 0,
 * p = 1 (no evidence of a difference).
 */
import tDist from '@stdlib/stats-base-dists-t';
import wilcoxon from '@stdlib/stats-wilcoxon';
import { isFiniteValue } from './aggregate';

export interface PairedTestResult {
  test: 'paired-t' | 'wilcoxon-signed-rank';
  /** Complete pairs used. */
  n: number;
  /** Pairs dropped because a value was missing. */
  dropped: number;
  /** Mean of a - b over the complete pairs. */
  meanDifference: number;
  /** t for the t-test; W+ (sum of ranks of positive a - b) for Wilcoxon. */
  statistic: number;
  /** Degrees of freedom (t-test only). */
  df: number | null;
  /** Two-sided p-value in [0, 1]. */
  pValue: number;
  /** For Wilcoxon: 'exact' (n <= 50, no ties or zeros) or 'normal' (normal approximation with continuity correction). */
  method: string;
}

type Values = ReadonlyArray<number | null | undefined> | Float64Array;

function complete(fn: string, a: Values, b: Values): { x: number[]; y: number[]; dropped: number } {
  const isArr = (v: unknown) => Array.isArray(v) || v instanceof Float64Array;
  if (!isArr(a) || !isArr(b)) throw new TypeError(`${fn}: a and b must be arrays of numbers (null for missing)`);
  if (a.length !== b.length) throw new RangeError(`${fn}: a and b must pair the same cases, got lengths ${a.length} and ${b.length}`);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const ai = a[i];
    const bi = b[i];
    if (isFiniteValue(ai) && isFiniteValue(bi)) {
      x.push(ai);
      y.push(bi);
    }
  }
  if (x.length < 2) throw new RangeError(`${fn}: needs at least 2 complete pairs, got ${x.length} of ${a.length} (pairs with a missing value are dropped)`);
  return { x, y, dropped: a.length - x.length };
}

const meanOf = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;

/**
 * Paired Student's t-test of H0: mean(a - b) = 0, two-sided. t = mean(d) / (sd(d) / sqrt(n)),
 * df = n - 1, p = 2 * (1 - T_df(|t|)). Constant non-zero differences give t = +-Infinity, p = 0.
 */
export function pairedTTest(a: Values, b: Values): PairedTestResult {
  const { x, y, dropped } = complete('pairedTTest', a, b);
  const d = x.map((v, i) => v - y[i]);
  const n = d.length;
  const mean = meanOf(d);
  const ss = d.reduce((s, v) => s + (v - mean) * (v - mean), 0);
  const sd = Math.sqrt(ss / (n - 1));
  const base = { test: 'paired-t' as const, n, dropped, meanDifference: mean, df: n - 1, method: 'student-t' };
  if (d.every((v) => v === 0)) return { ...base, statistic: 0, pValue: 1 };
  if (sd === 0) return { ...base, statistic: mean > 0 ? Infinity : -Infinity, pValue: 0 };
  const t = mean / (sd / Math.sqrt(n));
  // 2 * cdf(-|t|) keeps precision for small p (1 - cdf would cancel).
  const p = 2 * tDist.cdf(-Math.abs(t), n - 1);
  return { ...base, statistic: t, pValue: Math.min(1, Math.max(0, p)) };
}

/**
 * Wilcoxon signed-rank test of a - b, two-sided, zero differences discarded ('wilcox', as R and
 * scipy by default); exact null distribution when at most 50 non-zero differences without ties,
 * otherwise the normal approximation with tie correction and continuity correction (R's
 * `wilcox.test` defaults; scipy `wilcoxon(..., correction=True)`).
 */
export function wilcoxonSignedRank(a: Values, b: Values): PairedTestResult {
  const { x, y, dropped } = complete('wilcoxonSignedRank', a, b);
  const d = x.map((v, i) => v - y[i]);
  const nz = d.filter((v) => v !== 0);
  const base = { test: 'wilcoxon-signed-rank' as const, n: d.length, dropped, meanDifference: meanOf(d), df: null };
  if (nz.length === 0) return { ...base, statistic: 0, pValue: 1, method: 'exact' };
  const abs = nz.map(Math.abs).sort((p, q) => p - q);
  const ties = abs.some((v, i) => i > 0 && v === abs[i - 1]);
  const method = nz.length <= 50 && !ties && nz.length === d.length ? 'exact' : 'normal';
  if (nz.length === 1) {
    // stdlib needs two values; one non-zero difference: W+ is 0 or 1 of an exact n = 1 null, p = 1.
    return { ...base, statistic: nz[0] > 0 ? 1 : 0, pValue: 1, method: 'exact' };
  }
  const r = wilcoxon(x, y, { zeroMethod: 'wilcox', correction: true, alternative: 'two-sided' });
  return { ...base, statistic: r.statistic, pValue: Math.min(1, Math.max(0, r.pValue)), method };
}
