/**
 * Surface distances between the boundaries of two binary masks (boundary = mask minus its erosion by
 * the 3 x 3 cross, see boundary.ts) and the metrics built on them: Hausdorff distance (HD, Section
 * IV-B-2 of the paper), HD95, average symmetric surface distance (ASSD) and normalised surface Dice
 * (NSD). Distances come from an exact linear-time Euclidean distance transform of each boundary,
 * restricted to the bounding box of the two masks (exact: every boundary pixel lies inside it).
 *
 * Conventions (named so results can be compared with other tools):
 * - HD95 'directed' (default, MONAI `compute_hausdorff_distance(percentile=95)`): the 95th percentile
 *   of each directed distance set, then the larger of the two. 'pooled' (medpy `hd95`): the 95th
 *   percentile of both directions' distances pooled. Percentiles interpolate linearly between order
 *   statistics (numpy's default, Hyndman-Fan type 7).
 * - ASSD: the mean of both directions' distances pooled (MONAI `symmetric=True`), i.e.
 *   (sum d(A->B) + sum d(B->A)) / (|dA| + |dB|). medpy instead averages the two directed means.
 * - NSD at tolerance t: (#{a in dA : d(a, dB) <= t} + #{b in dB : d(b, dA) <= t}) / (|dA| + |dB|)
 *   (Nikolov et al. 2021, pixel form as in MONAI `compute_surface_dice`).
 */
import { HD95_CONVENTIONS, type Hd95Convention } from '@mrlseg/types';
import { extractBoundary } from './boundary';
import { squaredDistanceTransform } from './distance-transform';
import { assertMask, assertShape, resolveSpacing, type Spacing } from './validation';

/** How HD95 combines the two directions (the names live in @mrlseg/types for the CLI and the API). */
export { HD95_CONVENTIONS, type Hd95Convention };

/** Distances from each boundary pixel of one mask to the nearest boundary pixel of the other. */
export interface SurfaceDistances {
  /** From every boundary pixel of `a` to the boundary of `b`, in spacing units (row-major scan order). */
  aToB: Float64Array;
  /** From every boundary pixel of `b` to the boundary of `a`. */
  bToA: Float64Array;
}

/**
 * Directed boundary-to-boundary distances between masks `a` and `b` (row-major H x W, non-zero =
 * foreground) in the units of `spacing` ([sx, sy], default pixels). When one mask is empty its
 * array is empty and the other's distances are `Infinity`.
 */
export function computeSurfaceDistances(a: Uint8Array, b: Uint8Array, width: number, height: number, spacing?: Spacing): SurfaceDistances {
  const fn = 'computeSurfaceDistances';
  assertShape(fn, width, height);
  assertMask(fn, 'a', a, width, height);
  assertMask(fn, 'b', b, width, height);
  const [sx, sy] = resolveSpacing(fn, spacing);
  // Bounding box of a OR b; boundaries and distances inside it equal those of the full image.
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (a[row + x] || b[row + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return { aToB: new Float64Array(0), bToA: new Float64Array(0) };
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const ca = crop(a, width, x0, y0, w, h);
  const cb = crop(b, width, x0, y0, w, h);
  const ea = extractBoundary(ca, w, h);
  const eb = extractBoundary(cb, w, h);
  return { aToB: sample(ea, eb, w, h, sx, sy), bToA: sample(eb, ea, w, h, sx, sy) };
}

function crop(m: Uint8Array, width: number, x0: number, y0: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const src = (y0 + y) * width + x0;
    for (let x = 0; x < w; x++) out[y * w + x] = m[src + x] ? 1 : 0;
  }
  return out;
}

/** Distances at the pixels of `from` to the nearest pixel of `to`. */
function sample(from: Uint8Array, to: Uint8Array, w: number, h: number, sx: number, sy: number): Float64Array {
  let n = 0;
  const rows = new Uint8Array(h); // rows holding query pixels: only they need the EDT's row pass
  for (let y = 0; y < h; y++) {
    for (let x = 0, i = y * w; x < w; x++, i++) {
      if (from[i]) {
        n++;
        rows[y] = 1;
      }
    }
  }
  const out = new Float64Array(n);
  if (n === 0) return out;
  let hasTo = false;
  for (let i = 0; i < to.length && !hasTo; i++) hasTo = to[i] !== 0;
  if (!hasTo) return out.fill(Infinity);
  const d2 = squaredDistanceTransform(to, w, h, sx, sy, rows);
  let k = 0;
  for (let i = 0; i < from.length; i++) if (from[i]) out[k++] = Math.sqrt(d2[i]);
  return out;
}

/**
 * The q-th percentile (q in [0, 100]) of `values` with linear interpolation between order statistics
 * (numpy's default). `values` is not modified. NaN for an empty array.
 */
export function percentile(values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile: q must lie in [0, 100], got ${q}`);
  const n = values.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(values).sort();
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return s[lo] + (pos - lo) * (s[hi] - s[lo]);
}

function maxOf(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) if (v[i] > m) m = v[i];
  return m;
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Hausdorff distance max(max d(A->B), max d(B->A)); NaN when either boundary is empty. */
export function hausdorffFromDistances(d: SurfaceDistances): number {
  if (d.aToB.length === 0 || d.bToA.length === 0) return NaN;
  return Math.max(maxOf(d.aToB), maxOf(d.bToA));
}

/** HD95 (or any percentile `q`) under `convention`; NaN when either boundary is empty. */
export function hausdorffPercentileFromDistances(d: SurfaceDistances, q = 95, convention: Hd95Convention = 'directed'): number {
  if (d.aToB.length === 0 || d.bToA.length === 0) return NaN;
  if (convention === 'directed') return Math.max(percentile(d.aToB, q), percentile(d.bToA, q));
  if (convention === 'pooled') return percentile(concat(d.aToB, d.bToA), q);
  throw new RangeError(`hausdorffPercentileFromDistances: convention must be one of ${HD95_CONVENTIONS.join(', ')}, got '${String(convention)}'`);
}

/** ASSD: mean of both directions' distances pooled; NaN when either boundary is empty. */
export function assdFromDistances(d: SurfaceDistances): number {
  if (d.aToB.length === 0 || d.bToA.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < d.aToB.length; i++) s += d.aToB[i];
  for (let i = 0; i < d.bToA.length; i++) s += d.bToA[i];
  return s / (d.aToB.length + d.bToA.length);
}

/**
 * NSD at `tolerance` (spacing units): fraction of both boundaries lying within `tolerance` of the
 * other, in [0, 1]; 0 when exactly one boundary is empty, NaN when both are. A relative slack of
 * 1e-9 absorbs rounding, so a distance equal to the tolerance counts as within it.
 */
export function nsdFromDistances(d: SurfaceDistances, tolerance: number): number {
  if (!(Number.isFinite(tolerance) && tolerance >= 0)) throw new RangeError(`nsdFromDistances: tolerance must be a finite number >= 0, got ${tolerance}`);
  const total = d.aToB.length + d.bToA.length;
  if (total === 0) return NaN;
  const t = tolerance * (1 + 1e-9) + 1e-12;
  let inside = 0;
  for (let i = 0; i < d.aToB.length; i++) if (d.aToB[i] <= t) inside++;
  for (let i = 0; i < d.bToA.length; i++) if (d.bToA[i] <= t) inside++;
  return inside / total;
}

/** Hausdorff distance between masks `pred` and `gt` (H x W, spacing units); NaN when either is empty. */
export function computeHausdorff(pred: Uint8Array, gt: Uint8Array, width: number, height: number, spacing?: Spacing): number {
  return hausdorffFromDistances(computeSurfaceDistances(pred, gt, width, height, spacing));
}

/** HD95 between masks `pred` and `gt` under `convention` (default 'directed'); NaN when either is empty. */
export function computeHd95(pred: Uint8Array, gt: Uint8Array, width: number, height: number, opts: { spacing?: Spacing; convention?: Hd95Convention } = {}): number {
  return hausdorffPercentileFromDistances(computeSurfaceDistances(pred, gt, width, height, opts.spacing), 95, opts.convention ?? 'directed');
}
