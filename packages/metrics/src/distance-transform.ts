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

/**
 * Squared distances (units of spacing squared); no validation: callers have checked the inputs.
 * With `rows`, the row pass runs only on rows y where rows[y] is non-zero; other rows hold only the
 * column-pass values (used when distances are needed at a few pixels only).
 */
export function squaredDistanceTransform(seeds: Uint8Array, width: number, height: number, sx: number, sy: number, rows?: Uint8Array): Float64Array {
  const n = width * height;
  const g = new Float64Array(n);
  // Pass 1, down each column: squared distance to the nearest seed in the same column. Swept row by
  // row (a forward and a backward sweep with the last seed row per column) to stay cache-friendly.
  const sy2 = sy * sy;
  const last = new Int32Array(width).fill(-1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (seeds[row + x]) last[x] = y;
      const l = last[x];
      g[row + x] = l < 0 ? Infinity : (y - l) * (y - l) * sy2;
    }
  }
  last.fill(-1);
  for (let y = height - 1; y >= 0; y--) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (seeds[row + x]) last[x] = y;
      const l = last[x];
      if (l >= 0) {
        const d = (l - y) * (l - y) * sy2;
        if (d < g[row + x]) g[row + x] = d;
      }
    }
  }
  // Pass 2, along each row: lower envelope of the parabolas sx^2 (x - q)^2 + g(q). With
  // h(q) = g(q) + sx^2 q^2, parabolas q > p intersect at s = (h(q) - h(p)) / (2 sx^2 (q - p)).
  const a = sx * sx;
  const f = new Float64Array(width);
  const hv = new Float64Array(width); // h of the envelope's parabolas
  const v = new Int32Array(width);
  const z = new Float64Array(width + 1);
  const a2 = 2 * a;
  for (let y = 0; y < height; y++) {
    if (rows !== undefined && !rows[y]) continue;
    const row = y * width;
    let k = -1;
    for (let q = 0; q < width; q++) {
      const fq = g[row + q];
      f[q] = fq;
      if (fq === Infinity) continue;
      const hq = fq + a * q * q;
      if (k < 0) {
        k = 0;
        v[0] = q;
        hv[0] = hq;
        z[0] = -Infinity;
        z[1] = Infinity;
        continue;
      }
      let s = (hq - hv[k]) / (a2 * (q - v[k]));
      while (s <= z[k]) {
        k--;
        s = (hq - hv[k]) / (a2 * (q - v[k]));
      }
      k++;
      v[k] = q;
      hv[k] = hq;
      z[k] = s;
      z[k + 1] = Infinity;
    }
    if (k < 0) continue; // no seed reachable from this row: g is Infinity throughout already
    k = 0;
    for (let x = 0; x < width; x++) {
      while (z[k + 1] < x) k++;
      const vk = v[k];
      const d = x - vk;
      g[row + x] = a * d * d + f[vk];
    }
  }
  return g;
}
