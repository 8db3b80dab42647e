/**
 * Action units of the unit formulations (rl.credit 'counterfactual' and 'candidates'; issue 15,
 * docs/rl-formulations.md): each image is partitioned into units, and the agent masks or keeps each
 * unit as a whole.
 * - 'counterfactual': units are the u x u patches of a grid (u = rl.unitSize), or with
 *   rl.unitShape 'superpixel' the image's superpixels ({@link superpixelPartition}, grid step u).
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
 * @param base - optional partition of the image (a label per pixel, e.g. {@link superpixelPartition})
 *   that groups the rest instead of the u x u patches.
 */
export function candidateUnits(probability: ArrayLike<number>, height: number, width: number, unitSize: number, threshold: number, margin: number, base?: Int32Array): UnitMap {
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
  // The rest: per patch (or per `base` region), the pixels outside every candidate (numbered in
  // raster order of their first pixel).
  if (base && base.length !== n) throw new RangeError(`${fn}: base must hold height * width = ${n} labels, got ${base.length}`);
  const cols = Math.ceil(width / unitSize);
  const restId = new Map<number, number>();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (ids[i] >= 0) continue;
      const key = base ? base[i] : Math.floor(y / unitSize) * cols + Math.floor(x / unitSize);
      let id = restId.get(key);
      if (id === undefined) {
        id = count++;
        restId.set(key, id);
      }
      ids[i] = id;
    }
  }
  const sizes = new Int32Array(count);
  for (let i = 0; i < n; i++) sizes[ids[i]]++;
  const candidate = Array.from({ length: count }, (_, u) => u < candidates);
  return { ids, count, sizes, candidate };
}

/**
 * Superpixels of one grey image (rl.unitShape 'superpixel'): simple linear iterative clustering
 * (SLIC; Achanta et al., IEEE TPAMI 2012) on (intensity, y, x). Centres start on a grid of step
 * `step`; each of `iterations` rounds assigns every pixel to the nearest centre within 2 step x 2 step
 * by D^2 = (I - I_c)^2 + (compactness * d / step)^2 (I in the image's units, d in pixels) and moves
 * the centres to their pixels' means. Each label's connected parts (4-connectivity) then become
 * regions of their own, and parts smaller than step^2 / 4 pixels join the region of their first
 * neighbour in raster order. Regions follow intensity edges, so a blob of its own intensity (a
 * lesion-like distractor) is a region or a few, not a share of a square.
 * @param image - H x W intensities, row-major (e.g. [0, 1]).
 * @param step - grid step of the initial centres, pixels (>= 2).
 * @param compactness - weight of spatial distance, in intensity units per `step` pixels (> 0).
 * @returns a label per pixel, 0 .. k - 1, numbered in raster order of their first pixel.
 */
export function superpixelPartition(image: ArrayLike<number>, height: number, width: number, step: number, compactness: number, iterations = 5): Int32Array {
  const fn = 'superpixelPartition';
  checkSize(fn, height, width, step);
  if (step < 2) throw new RangeError(`${fn}: step must be >= 2, got ${step}`);
  if (image == null || image.length !== height * width) throw new RangeError(`${fn}: image must hold height * width = ${height * width} values, got ${image?.length}`);
  if (!(compactness > 0)) throw new RangeError(`${fn}: compactness must be > 0, got ${compactness}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`${fn}: iterations must be a positive integer, got ${iterations}`);
  const n = height * width;
  const cy: number[] = [];
  const cx: number[] = [];
  const ci: number[] = [];
  for (let y = step / 2; y < height; y += step) {
    for (let x = step / 2; x < width; x += step) {
      const yy = Math.min(height - 1, Math.floor(y));
      const xx = Math.min(width - 1, Math.floor(x));
      cy.push(yy);
      cx.push(xx);
      ci.push(image[yy * width + xx]);
    }
  }
  const k = cy.length;
  const label = new Int32Array(n).fill(-1);
  const dist = new Float64Array(n);
  const sw = (compactness / step) ** 2;
  for (let it = 0; it < iterations; it++) {
    dist.fill(Infinity);
    for (let c = 0; c < k; c++) {
      const y0 = Math.max(0, Math.floor(cy[c] - step));
      const y1 = Math.min(height - 1, Math.ceil(cy[c] + step));
      const x0 = Math.max(0, Math.floor(cx[c] - step));
      const x1 = Math.min(width - 1, Math.ceil(cx[c] + step));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const i = y * width + x;
          const di = image[i] - ci[c];
          const d = di * di + sw * ((y - cy[c]) ** 2 + (x - cx[c]) ** 2);
          if (d < dist[i]) {
            dist[i] = d;
            label[i] = c;
          }
        }
      }
    }
    const sy = new Float64Array(k);
    const sx = new Float64Array(k);
    const si = new Float64Array(k);
    const cnt = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const c = label[i];
      if (c < 0) continue;
      sy[c] += Math.floor(i / width);
      sx[c] += i % width;
      si[c] += image[i];
      cnt[c]++;
    }
    for (let c = 0; c < k; c++) {
      if (cnt[c] === 0) continue;
      cy[c] = sy[c] / cnt[c];
      cx[c] = sx[c] / cnt[c];
      ci[c] = si[c] / cnt[c];
    }
  }
  // Every pixel lies within step of some grid centre's window, but guard anyway.
  for (let i = 0; i < n; i++) if (label[i] < 0) label[i] = 0;
  // Connected parts (4-connectivity) of each label, in raster order.
  const part = new Int32Array(n).fill(-1);
  const sizes: number[] = [];
  const stack: number[] = [];
  for (let start = 0; start < n; start++) {
    if (part[start] >= 0) continue;
    const id = sizes.length;
    let size = 0;
    part[start] = id;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      size++;
      const py = Math.floor(p / width);
      const px = p - py * width;
      const nb = [py > 0 ? p - width : -1, py < height - 1 ? p + width : -1, px > 0 ? p - 1 : -1, px < width - 1 ? p + 1 : -1];
      for (const q of nb) {
        if (q >= 0 && part[q] < 0 && label[q] === label[p]) {
          part[q] = id;
          stack.push(q);
        }
      }
    }
    sizes.push(size);
  }
  // Small parts join the part of their first neighbour (raster order) that is not themselves.
  const minSize = Math.max(1, Math.floor((step * step) / 4));
  const merged = Int32Array.from({ length: sizes.length }, (_, i) => i);
  const find = (a: number): number => {
    while (merged[a] !== a) a = merged[a] = merged[merged[a]];
    return a;
  };
  for (let i = 0; i < n; i++) {
    const a = part[i];
    if (sizes[a] >= minSize || find(a) !== a) continue;
    // scan this part's pixels' neighbours for another part
    for (let j = i; j < n; j++) {
      if (part[j] !== a) continue;
      const jy = Math.floor(j / width);
      const jx = j - jy * width;
      const nb = [jy > 0 ? j - width : -1, jy < height - 1 ? j + width : -1, jx > 0 ? j - 1 : -1, jx < width - 1 ? j + 1 : -1];
      const other = nb.find((q) => q >= 0 && find(part[q]) !== find(a));
      if (other !== undefined) {
        const ra = find(a);
        const rb = find(part[other]);
        merged[ra] = rb;
        sizes[rb] += sizes[ra];
        break;
      }
    }
  }
  const out = new Int32Array(n);
  const renum = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = find(part[i]);
    let id = renum.get(r);
    if (id === undefined) {
      id = renum.size;
      renum.set(r, id);
    }
    out[i] = id;
  }
  return out;
}

/** A unit map of a partition's labels (0 .. k - 1): each region is a (non-candidate) unit. */
export function partitionUnits(labels: Int32Array): UnitMap {
  let count = 0;
  for (const l of labels) count = Math.max(count, l + 1);
  const sizes = new Int32Array(count);
  for (const l of labels) sizes[l]++;
  return { ids: Int32Array.from(labels), count, sizes, candidate: new Array<boolean>(count).fill(false) };
}

/**
 * Which units of `units` hold a foreground pixel of a ground-truth map (values > 0.5), read from
 * `labels` at `offset` (image k of a batch: k * H * W). rl.lesionVeto and mask-out pre-training.
 */
export function foregroundUnits(units: UnitMap, labels: ArrayLike<number>, offset = 0): Uint8Array {
  const out = new Uint8Array(units.count);
  for (let i = 0; i < units.ids.length; i++) if (labels[offset + i] > 0.5) out[units.ids[i]] = 1;
  return out;
}
