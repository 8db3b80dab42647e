/**
 * Action units of the unit formulations (rl.credit 'counterfactual' and 'candidates'; issue 15,
 * docs/rl-formulations.md): each image is partitioned into units, and the agent masks or keeps each
 * unit as a whole.
 * - 'counterfactual': units are the u x u patches of a grid (u = rl.unitSize).
 * - 'candidates': the connected components (8-connectivity) of the pre-trained Segmentation-Net's
 *   prediction on the raw image (probability > rl.candidateThreshold), each grown by
 *   rl.candidateMargin pixels (square dilation; components that touch after growing merge), are
 *   units of their own; the remaining pixels are grouped by u x u patch (the part of a patch outside
 *   every candidate is one unit).
 * Plain arrays: unit maps are built on the CPU from the probability map (no gradient flows through
 * them).
 */

/** The units of one H x W image. */
export interface UnitMap {
  /** Unit id of each pixel (row-major, H x W), 0 .. count - 1. */
  ids: Int32Array;
  /** Number of units. */
  count: number;
  /** Pixels per unit. */
  sizes: Int32Array;
  /** Whether a unit is a candidate structure (always false for patch units). */
  candidate: boolean[];
}

function checkSize(fn: string, height: number, width: number, unitSize: number): void {
  if (!Number.isInteger(height) || height < 1 || !Number.isInteger(width) || width < 1) throw new RangeError(`${fn}: height and width must be positive integers, got ${height} x ${width}`);
  if (!Number.isInteger(unitSize) || unitSize < 1) throw new RangeError(`${fn}: unitSize must be a positive integer, got ${unitSize}`);
}

/** Grid units: pixel (y, x) belongs to patch (floor(y / u), floor(x / u)); edge patches may be smaller. */
export function patchUnits(height: number, width: number, unitSize: number): UnitMap {
  checkSize('patchUnits', height, width, unitSize);
  const cols = Math.ceil(width / unitSize);
  const count = Math.ceil(height / unitSize) * cols;
  const ids = new Int32Array(height * width);
  const sizes = new Int32Array(count);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = Math.floor(y / unitSize) * cols + Math.floor(x / unitSize);
      ids[y * width + x] = u;
      sizes[u]++;
    }
  }
  return { ids, count, sizes, candidate: new Array<boolean>(count).fill(false) };
}

/**
 * Candidate units plus patch units for the rest (see the file comment).
 * @param probability - Segmentation-Net lesion probability on the raw image, H x W row-major, [0, 1].
 * @param threshold - probability above which a pixel is a candidate pixel, in (0, 1).
 * @param margin - growth of each candidate component, pixels (>= 0).
 */
export function candidateUnits(probability: ArrayLike<number>, height: number, width: number, unitSize: number, threshold: number, margin: number): UnitMap {
  const fn = 'candidateUnits';
  checkSize(fn, height, width, unitSize);
  if (probability == null || probability.length !== height * width) throw new RangeError(`${fn}: probability must hold height * width = ${height * width} values, got ${probability?.length}`);
  if (!(threshold > 0 && threshold < 1)) throw new RangeError(`${fn}: threshold must lie in (0, 1), got ${threshold}`);
  if (!Number.isInteger(margin) || margin < 0) throw new RangeError(`${fn}: margin must be an integer >= 0, got ${margin}`);
  const n = height * width;
  // Grown candidate mask: square dilation by `margin` (separable: rows, then columns).
  const seed = new Uint8Array(n);
  for (let i = 0; i < n; i++) seed[i] = probability[i] > threshold ? 1 : 0;
  let grown = seed;
  if (margin > 0) {
    const rows = new Uint8Array(n);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (!seed[y * width + x]) continue;
        for (let dx = Math.max(0, x - margin); dx <= Math.min(width - 1, x + margin); dx++) rows[y * width + dx] = 1;
      }
    }
    grown = new Uint8Array(n);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (!rows[y * width + x]) continue;
        for (let dy = Math.max(0, y - margin); dy <= Math.min(height - 1, y + margin); dy++) grown[dy * width + x] = 1;
      }
    }
  }
  // Connected components of the grown mask (8-connectivity), in raster order of their first pixel.
  const ids = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  let count = 0;
  for (let start = 0; start < n; start++) {
    if (!grown[start] || ids[start] >= 0) continue;
    const id = count++;
    ids[start] = id;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      const py = Math.floor(p / width);
      const px = p - py * width;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = py + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = px + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (grown[q] && ids[q] < 0) {
            ids[q] = id;
            stack.push(q);
          }
        }
      }
    }
  }
  const candidates = count;
  // The rest: per patch, the pixels outside every candidate (numbered in raster order of patches).
  const cols = Math.ceil(width / unitSize);
  const patchId = new Int32Array(Math.ceil(height / unitSize) * cols).fill(-1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (ids[i] >= 0) continue;
      const pch = Math.floor(y / unitSize) * cols + Math.floor(x / unitSize);
      if (patchId[pch] < 0) patchId[pch] = count++;
      ids[i] = patchId[pch];
    }
  }
  const sizes = new Int32Array(count);
  for (let i = 0; i < n; i++) sizes[ids[i]]++;
  const candidate = Array.from({ length: count }, (_, u) => u < candidates);
  return { ids, count, sizes, candidate };
}
