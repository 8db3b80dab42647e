/**
 * Foreground/background-ratio intervals of the paper's tables: CT (KiTS19, JLUKT) 0-2, 2-4, 4-6,
 * 6-8, 8-10 %; BUSI 0-10, ..., 50-60 %; or custom edges. Edges are percentages of fbRatio
 * (foreground / background, Eq. 3's x).
 *
 * Convention: intervals are half-open [lo, hi) except the last, which is closed [lo, hi]. A case
 * whose fbRatio lies beyond the last edge belongs to no interval (index -1, label `null`); the
 * summaries count such cases (`outside`) and include them in the overall average, never drop them.
 */
import { BUSI_INTERVAL_EDGES, CT_INTERVAL_EDGES } from '@mrlseg/types';

/** 'ct', 'busi', or strictly increasing, non-negative percentage edges (at least two). */
export type IntervalSpec = 'ct' | 'busi' | readonly number[];

/** Validated percentage edges for `spec`. */
export function resolveIntervalEdges(spec: IntervalSpec): readonly number[] {
  if (spec === 'ct') return CT_INTERVAL_EDGES;
  if (spec === 'busi') return BUSI_INTERVAL_EDGES;
  if (!Array.isArray(spec)) {
    throw new TypeError(`resolveIntervalEdges: intervals must be 'ct', 'busi' or an array of percentage edges, got ${JSON.stringify(spec)}`);
  }
  if (spec.length < 2) throw new RangeError(`resolveIntervalEdges: need at least two edges, got ${JSON.stringify(spec)}`);
  spec.forEach((e, i) => {
    if (typeof e !== 'number' || !Number.isFinite(e) || e < 0) {
      throw new RangeError(`resolveIntervalEdges: edge [${i}] must be a finite percentage >= 0, got ${e}`);
    }
    if (i > 0 && e <= spec[i - 1]) {
      throw new RangeError(`resolveIntervalEdges: edges must be strictly increasing, got ${spec[i - 1]} then ${e} at [${i}]`);
    }
  });
  return spec;
}

/** Parses CLI text: 'ct', 'busi' or comma-separated percentages such as '0,5,10,20'. */
export function parseIntervalSpec(text: string): IntervalSpec {
  const t = text.trim().toLowerCase();
  if (t === 'ct' || t === 'busi') return t;
  const edges = t.split(',').map((s) => Number(s.trim()));
  if (t === '' || edges.some((e) => !Number.isFinite(e))) {
    throw new RangeError(`parseIntervalSpec: expected 'ct', 'busi' or comma-separated percentages like '0,5,10', got '${text}'`);
  }
  return resolveIntervalEdges(edges);
}

/** Labels of the intervals of `spec`, e.g. ['0-2%', '2-4%', ...]. */
export function intervalLabels(spec: IntervalSpec): string[] {
  const e = resolveIntervalEdges(spec);
  return e.slice(0, -1).map((lo, i) => `${lo}-${e[i + 1]}%`);
}

/**
 * Index of the interval holding `fbRatio` (a fraction, compared with edge / 100), or -1 when it
 * lies below the first edge or beyond the last.
 */
export function intervalIndex(fbRatio: number, spec: IntervalSpec): number {
  const e = resolveIntervalEdges(spec);
  if (typeof fbRatio !== 'number' || Number.isNaN(fbRatio) || fbRatio < 0) {
    throw new RangeError(`intervalIndex: fbRatio must be a number >= 0, got ${fbRatio}`);
  }
  const last = e.length - 1;
  if (fbRatio < e[0] / 100 || fbRatio > e[last] / 100) return -1;
  for (let i = 0; i < last; i++) if (fbRatio < e[i + 1] / 100) return i;
  return last - 1; // fbRatio equals the last edge: the last interval is closed
}

/** Label of the interval holding `fbRatio`, or `null` outside the edges. */
export function intervalLabel(fbRatio: number, spec: IntervalSpec): string | null {
  const i = intervalIndex(fbRatio, spec);
  return i < 0 ? null : intervalLabels(spec)[i];
}
