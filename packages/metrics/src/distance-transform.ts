/**
 * Exact Euclidean distance transform in linear time (Felzenszwalb & Huttenlocher, "Distance
 * Transforms of Sampled Functions", Theory of Computing 8, 2012): a 1-D pass down each column, then
 * the lower envelope of parabolas along each row. Anisotropic spacing enters as the weight of each
 * 1-D pass, so the result is exact in physical units, not only in pixels.
 */
import { assertMask, assertShape, resolveSpacing, type Spacing } from './validation';

/**
 * Distance from every pixel to the nearest seed pixel (non-zero in `seeds`), row-major H x W.
 *
 * @param seeds - row-major H x W, non-zero = seed.
 * @param spacing - [sx, sy]: physical size of a pixel along x (within a row) and y (down a column);
 *   default [1, 1], i.e. distances in pixels.
 * @returns H x W distances in the units of `spacing` (0 at seeds); `Infinity` everywhere when there
 *   is no seed. Cost O(H x W).
 */
export function euclideanDistanceTransform(seeds: Uint8Array, width: number, height: number, spacing?: Spacing): Float64Array {
  assertShape('euclideanDistanceTransform', width, height);
  assertMask('euclideanDistanceTransform', 'seeds', seeds, width, height);
  const [sx, sy] = resolveSpacing('euclideanDistanceTransform', spacing);
  const sq = squaredDistanceTransform(seeds, width, height, sx, sy);
  for (let i = 0; i < sq.length; i++) sq[i] = Math.sqrt(sq[i]);
  return sq;
}

/** Squared distances (units of spacing squared); no validation: callers have checked the inputs. */
export function squaredDistanceTransform(seeds: Uint8Array, width: number, height: number, sx: number, sy: number): Float64Array {
  const n = width * height;
  const g = new Float64Array(n);
  // Pass 1, down each column: squared distance to the nearest seed in the same column.
  const sy2 = sy * sy;
  for (let x = 0; x < width; x++) {
    let last = -1;
    for (let y = 0; y < height; y++) {
      const i = y * width + x;
      if (seeds[i]) {
        last = y;
        g[i] = 0;
      } else {
        g[i] = last < 0 ? Infinity : (y - last) * (y - last) * sy2;
      }
    }
    last = -1;
    for (let y = height - 1; y >= 0; y--) {
      const i = y * width + x;
      if (seeds[i]) {
        last = y;
      } else if (last >= 0) {
        const d = (last - y) * (last - y) * sy2;
        if (d < g[i]) g[i] = d;
      }
    }
  }
  // Pass 2, along each row: lower envelope of the parabolas sx^2 (x - q)^2 + g(q).
  const a = sx * sx;
  const f = new Float64Array(width);
  const v = new Int32Array(width);
  const z = new Float64Array(width + 1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) f[x] = g[row + x];
    let k = -1;
    for (let q = 0; q < width; q++) {
      const fq = f[q];
      if (fq === Infinity) continue;
      if (k < 0) {
        k = 0;
        v[0] = q;
        z[0] = -Infinity;
        z[1] = Infinity;
        continue;
      }
      const hq = fq + a * q * q;
      let s = (hq - (f[v[k]] + a * v[k] * v[k])) / (2 * a * (q - v[k]));
      while (s <= z[k]) {
        k--;
        s = (hq - (f[v[k]] + a * v[k] * v[k])) / (2 * a * (q - v[k]));
      }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = Infinity;
    }
    if (k < 0) continue; // no seed reachable from this row: g is Infinity throughout already
    k = 0;
    for (let x = 0; x < width; x++) {
      while (z[k + 1] < x) k++;
      const d = x - v[k];
      g[row + x] = a * d * d + f[v[k]];
    }
  }
  return g;
}
