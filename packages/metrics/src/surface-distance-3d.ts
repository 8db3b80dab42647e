/**
 * Surface distances between two binary 3-D masks, in physical units (voxel spacing [sx, sy, sz]),
 * for volumes scored as volumes (nnU-Net and MONAI score KiTS-style labels this way). Same
 * definitions as the 2-D ones (surface-distance.ts): the surface is the mask minus its erosion by
 * the 6-neighbour cross (voxels outside the volume count as background), distances come from an
 * exact Euclidean distance transform of the other surface (the 2-D transform on every z-plane,
 * then the same lower-envelope pass along z), restricted to the bounding box of both masks.
 * The result is a SurfaceDistances, so HD, HD95 (either convention), ASSD and NSD come from the
 * same *FromDistances functions as in 2-D.
 *
 * Layout: voxel (x, y, z) at x + nx (y + ny z) (x fastest: NIfTI file order).
 */
import { squaredDistanceTransform } from './distance-transform';
import { computeConfusion, diceFromCounts, iouFromCounts, precisionFromCounts, recallFromCounts, type ConfusionCounts } from './overlap';
import { assdFromDistances, HD95_CONVENTIONS, hausdorffFromDistances, hausdorffPercentileFromDistances, nsdFromDistances, type Hd95Convention, type SurfaceDistances } from './surface-distance';

/** Voxel spacing [sx, sy, sz] (along x, y, z), e.g. NIfTI pixdim[1..3] in mm. */
export type Spacing3d = readonly [number, number, number];

function assertVolume(fn: string, arg: string, m: unknown, dims: readonly number[]): asserts m is Uint8Array {
  if (!(m instanceof Uint8Array)) throw new TypeError(`${fn}: ${arg} must be a Uint8Array (x fastest, non-zero = foreground), got ${m === null ? 'null' : typeof m}`);
  const n = dims[0] * dims[1] * dims[2];
  if (m.length !== n) throw new RangeError(`${fn}: ${arg} has ${m.length} values, expected nx x ny x nz = ${dims.join(' x ')} = ${n}`);
}

function assertDims(fn: string, dims: unknown): asserts dims is [number, number, number] {
  if (!Array.isArray(dims) || dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0)) throw new RangeError(`${fn}: dims must be [nx, ny, nz] positive integers, got ${JSON.stringify(dims)}`);
}

function resolveSpacing3d(fn: string, spacing: Spacing3d | undefined): [number, number, number] {
  if (spacing === undefined) return [1, 1, 1];
  if (!Array.isArray(spacing) || spacing.length !== 3 || !spacing.every((s) => typeof s === 'number' && Number.isFinite(s) && s > 0)) {
    throw new RangeError(`${fn}: spacing must be [sx, sy, sz] with three finite positive numbers, got ${JSON.stringify(spacing)}`);
  }
  return [spacing[0], spacing[1], spacing[2]];
}

/** Surface voxels of `m` (nx x ny x nz): foreground with a background 6-neighbour or on the volume's border. */
function surface3d(m: Uint8Array, nx: number, ny: number, nz: number): Uint8Array {
  const out = new Uint8Array(m.length);
  const sxy = nx * ny;
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) {
        const i = x + nx * (y + ny * z);
        if (!m[i]) continue;
        if (x === 0 || x === nx - 1 || y === 0 || y === ny - 1 || z === 0 || z === nz - 1 || !m[i - 1] || !m[i + 1] || !m[i - nx] || !m[i + nx] || !m[i - sxy] || !m[i + sxy]) out[i] = 1;
      }
  return out;
}

/** Squared 3-D distance transform of `seeds` (units of spacing squared; Infinity without seeds). */
function squaredDistanceTransform3d(seeds: Uint8Array, nx: number, ny: number, nz: number, sx: number, sy: number, sz: number): Float64Array {
  const plane = nx * ny;
  const g = new Float64Array(seeds.length);
  for (let z = 0; z < nz; z++) g.set(squaredDistanceTransform(seeds.subarray(z * plane, (z + 1) * plane), nx, ny, sx, sy), z * plane);
  if (nz === 1) return g;
  // Along z: lower envelope of the parabolas sz² (z - q)² + g(q) for every (x, y).
  const a = sz * sz;
  const f = new Float64Array(nz);
  const v = new Int32Array(nz);
  const zz = new Float64Array(nz + 1);
  const hv = new Float64Array(nz);
  for (let p = 0; p < plane; p++) {
    let k = -1;
    for (let q = 0; q < nz; q++) {
      const fq = g[p + q * plane];
      f[q] = fq;
      if (fq === Infinity) continue;
      const hq = fq + a * q * q;
      if (k < 0) {
        k = 0;
        v[0] = q;
        hv[0] = hq;
        zz[0] = -Infinity;
        zz[1] = Infinity;
        continue;
      }
      let s = (hq - hv[k]) / (2 * a * (q - v[k]));
      while (s <= zz[k]) {
        k--;
        s = (hq - hv[k]) / (2 * a * (q - v[k]));
      }
      k++;
      v[k] = q;
      hv[k] = hq;
      zz[k] = s;
      zz[k + 1] = Infinity;
    }
    if (k < 0) continue;
    k = 0;
    for (let q = 0; q < nz; q++) {
      while (zz[k + 1] < q) k++;
      const d = q - v[k];
      g[p + q * plane] = a * d * d + f[v[k]];
    }
  }
  return g;
}

/**
 * Directed surface-to-surface distances between 3-D masks `a` and `b` (x fastest, non-zero =
 * foreground) in the units of `spacing` (default voxels). When one mask is empty its array is
 * empty and the other's distances are Infinity; both empty: both arrays empty.
 */
export function computeSurfaceDistances3d(a: Uint8Array, b: Uint8Array, dims: readonly [number, number, number], spacing?: Spacing3d): SurfaceDistances {
  const fn = 'computeSurfaceDistances3d';
  assertDims(fn, dims);
  assertVolume(fn, 'a', a, dims);
  assertVolume(fn, 'b', b, dims);
  const [sx, sy, sz] = resolveSpacing3d(fn, spacing);
  const [nx, ny, nz] = dims;
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  for (let z = 0, i = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++, i++) {
        if (!a[i] && !b[i]) continue;
        if (x < lo[0]) lo[0] = x;
        if (x > hi[0]) hi[0] = x;
        if (y < lo[1]) lo[1] = y;
        if (y > hi[1]) hi[1] = y;
        if (z < lo[2]) lo[2] = z;
        if (z > hi[2]) hi[2] = z;
      }
  if (hi[0] < 0) return { aToB: new Float64Array(0), bToA: new Float64Array(0) };
  // Crop to the bounding box (one voxel of margin keeps border voxels of the crop that are not on
  // the volume's border from being taken for surface voxels).
  const o = [0, 1, 2].map((d) => Math.max(0, lo[d] - 1));
  const e = [0, 1, 2].map((d) => Math.min(dims[d] - 1, hi[d] + 1));
  const [cx, cy, cz] = [e[0] - o[0] + 1, e[1] - o[1] + 1, e[2] - o[2] + 1];
  const crop = (m: Uint8Array) => {
    const out = new Uint8Array(cx * cy * cz);
    for (let z = 0; z < cz; z++)
      for (let y = 0; y < cy; y++) {
        const src = o[0] + nx * (o[1] + y + ny * (o[2] + z));
        const dst = cx * (y + cy * z);
        for (let x = 0; x < cx; x++) out[dst + x] = m[src + x] ? 1 : 0;
      }
    return out;
  };
  const ca = crop(a);
  const cb = crop(b);
  const sa = surface3d(ca, cx, cy, cz);
  const sb = surface3d(cb, cx, cy, cz);
  const sample = (from: Uint8Array, to: Uint8Array): Float64Array => {
    let n = 0;
    let hasTo = false;
    for (let i = 0; i < from.length; i++) {
      if (from[i]) n++;
      if (to[i]) hasTo = true;
    }
    const out = new Float64Array(n);
    if (n === 0) return out;
    if (!hasTo) return out.fill(Infinity);
    const d2 = squaredDistanceTransform3d(to, cx, cy, cz, sx, sy, sz);
    for (let i = 0, k = 0; i < from.length; i++) if (from[i]) out[k++] = Math.sqrt(d2[i]);
    return out;
  };
  return { aToB: sample(sa, sb), bToA: sample(sb, sa) };
}

/** Metrics of one 3-D prediction against its ground truth (distances in spacing units). */
export interface VolumeMetrics extends ConfusionCounts {
  dice: number | null;
  iou: number | null;
  precision: number | null;
  recall: number | null;
  hd: number | null;
  hd95: number | null;
  assd: number | null;
  nsd: number | null;
  predForeground: number;
  gtForeground: number;
  emptyGt: boolean;
  emptyPred: boolean;
  spacing: [number, number, number];
  nsdTolerance: number;
  hd95Convention: Hd95Convention;
}

const orNull = (v: number): number | null => (Number.isNaN(v) ? null : v);

/**
 * Dice, IoU, precision, recall, HD, HD95, ASSD and NSD of a 3-D `pred` against `gt` (x fastest,
 * non-zero = foreground) with voxel `spacing` [sx, sy, sz]. Empty masks follow the 2-D convention
 * of computeSegmentationMetrics ('undefined': null ratios and distances, NSD 0 with one empty
 * mask; 'perfect': two empty masks score 1 and 0).
 */
export function computeVolumeMetrics(
  pred: Uint8Array,
  gt: Uint8Array,
  opts: { dims: readonly [number, number, number]; spacing?: Spacing3d; nsdTolerance?: number; hd95Convention?: Hd95Convention; emptyBoth?: 'undefined' | 'perfect' },
): VolumeMetrics {
  const fn = 'computeVolumeMetrics';
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: opts must be { dims, spacing?, ... }, got ${String(opts)}`);
  assertDims(fn, opts.dims);
  assertVolume(fn, 'pred', pred, opts.dims);
  assertVolume(fn, 'gt', gt, opts.dims);
  const spacing = resolveSpacing3d(fn, opts.spacing);
  const nsdTolerance = opts.nsdTolerance ?? 1;
  if (!(Number.isFinite(nsdTolerance) && nsdTolerance >= 0)) throw new RangeError(`${fn}: nsdTolerance must be a finite number >= 0, got ${nsdTolerance}`);
  const hd95Convention = opts.hd95Convention ?? 'directed';
  if (!HD95_CONVENTIONS.includes(hd95Convention)) throw new RangeError(`${fn}: hd95Convention must be one of ${HD95_CONVENTIONS.join(', ')}, got '${String(hd95Convention)}'`);
  const emptyBoth = opts.emptyBoth ?? 'undefined';
  if (emptyBoth !== 'undefined' && emptyBoth !== 'perfect') throw new RangeError(`${fn}: emptyBoth must be 'undefined' or 'perfect', got '${String(emptyBoth)}'`);
  const c = computeConfusion(pred, gt, pred.length, 1);
  const predForeground = c.tp + c.fp;
  const gtForeground = c.tp + c.fn;
  const base = { ...c, predForeground, gtForeground, emptyGt: gtForeground === 0, emptyPred: predForeground === 0, spacing, nsdTolerance, hd95Convention };
  if (predForeground === 0 && gtForeground === 0) {
    const v = emptyBoth === 'perfect';
    return { ...base, dice: v ? 1 : null, iou: v ? 1 : null, precision: v ? 1 : null, recall: v ? 1 : null, hd: v ? 0 : null, hd95: v ? 0 : null, assd: v ? 0 : null, nsd: v ? 1 : null };
  }
  const d = computeSurfaceDistances3d(pred, gt, opts.dims, spacing);
  return {
    ...base,
    dice: diceFromCounts(c),
    iou: iouFromCounts(c),
    precision: precisionFromCounts(c),
    recall: recallFromCounts(c),
    hd: orNull(hausdorffFromDistances(d)),
    hd95: orNull(hausdorffPercentileFromDistances(d, 95, hd95Convention)),
    assd: orNull(assdFromDistances(d)),
    nsd: orNull(nsdFromDistances(d, nsdTolerance)),
  };
}
