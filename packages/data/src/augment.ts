/**
 * Training-time augmentation of a preprocessed square sample: horizontal/vertical flips,
 * 90-degree rotations, small rotations (bilinear image, nearest mask, zero fill) and intensity
 * jitter (gain and bias, clipped to [0, 1]). Seeded: the same `rng` stream gives the same result.
 * Each applied step is named in the returned list (for meta.preprocessing.augmentation).
 */
import type { AugmentationConfig } from '@mrlseg/types';
import type { Rng } from './util';

/** Flips a row-major S x S array horizontally (`axis` 'x') or vertically ('y'). */
export function flip<T extends Float32Array | Uint8Array>(a: T, size: number, axis: 'x' | 'y'): T {
  const out = a.slice() as T;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx = axis === 'x' ? size - 1 - x : x;
      const sy = axis === 'y' ? size - 1 - y : y;
      out[y * size + x] = a[sy * size + sx];
    }
  }
  return out;
}

/** Rotates a row-major S x S array by k x 90 degrees counter-clockwise. */
export function rot90<T extends Float32Array | Uint8Array>(a: T, size: number, k: number): T {
  const q = ((k % 4) + 4) % 4;
  let cur = a;
  for (let n = 0; n < q; n++) {
    const out = cur.slice() as T;
    // Counter-clockwise: out(y, x) = in(x, S-1-y).
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[y * size + x] = cur[x * size + (size - 1 - y)];
    cur = out;
  }
  return q === 0 ? (a.slice() as T) : cur;
}

/** Rotates by `deg` degrees about the centre; bilinear for the image, nearest for the mask, 0 outside. */
export function rotateSmall(img: Float32Array, mask: Uint8Array, size: number, deg: number): { image: Float32Array; mask: Uint8Array } {
  const th = (deg * Math.PI) / 180;
  const c = Math.cos(th);
  const s = Math.sin(th);
  const m = (size - 1) / 2;
  const oi = new Float32Array(size * size);
  const om = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Inverse mapping: source = R(-theta) (dest - centre) + centre.
      const dx = x - m;
      const dy = y - m;
      const sx = c * dx + s * dy + m;
      const sy = -s * dx + c * dy + m;
      const i = y * size + x;
      const nx = Math.round(sx);
      const ny = Math.round(sy);
      if (nx >= 0 && ny >= 0 && nx < size && ny < size) om[i] = mask[ny * size + nx];
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < 0 || y0 < 0 || x0 >= size - 1 || y0 >= size - 1) {
        if (nx >= 0 && ny >= 0 && nx < size && ny < size) oi[i] = img[ny * size + nx];
        continue;
      }
      const fx = sx - x0;
      const fy = sy - y0;
      const p = y0 * size + x0;
      oi[i] = (img[p] * (1 - fx) + img[p + 1] * fx) * (1 - fy) + (img[p + size] * (1 - fx) + img[p + size + 1] * fx) * fy;
    }
  }
  return { image: oi, mask: om };
}

/**
 * Applies the configured augmentation to a square S x S sample.
 * @returns new arrays and the names of the steps applied, e.g. ["flip-x", "rot90x3", "rotate(4.20deg)", "jitter(gain=1.031,bias=-0.012)"].
 */
export function augmentSample(image: Float32Array, mask: Uint8Array, size: number, cfg: AugmentationConfig, rng: Rng): { image: Float32Array; mask: Uint8Array; steps: string[] } {
  if (image.length !== size * size || mask.length !== size * size) throw new Error(`augmentSample: image and mask must hold size*size = ${size * size} values`);
  const steps: string[] = [];
  let img = image;
  let msk = mask;
  if (!cfg.enabled) return { image: img.slice(), mask: msk.slice(), steps };
  if (cfg.flip) {
    if (rng() < 0.5) {
      img = flip(img, size, 'x');
      msk = flip(msk, size, 'x');
      steps.push('flip-x');
    }
    if (rng() < 0.5) {
      img = flip(img, size, 'y');
      msk = flip(msk, size, 'y');
      steps.push('flip-y');
    }
  }
  if (cfg.rot90) {
    const k = Math.floor(rng() * 4);
    if (k > 0) {
      img = rot90(img, size, k);
      msk = rot90(msk, size, k);
      steps.push(`rot90x${k}`);
    }
  }
  if (cfg.rotateDegrees > 0) {
    const deg = (rng() * 2 - 1) * cfg.rotateDegrees;
    const r = rotateSmall(img, msk, size, deg);
    img = r.image;
    msk = r.mask;
    steps.push(`rotate(${deg.toFixed(2)}deg)`);
  }
  if (cfg.intensityJitter > 0) {
    const gain = 1 + (rng() * 2 - 1) * cfg.intensityJitter;
    const bias = (rng() * 2 - 1) * cfg.intensityJitter * 0.5;
    const out = new Float32Array(img.length);
    for (let i = 0; i < img.length; i++) {
      const v = img[i] * gain + bias;
      out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    img = out;
    steps.push(`jitter(gain=${gain.toFixed(3)},bias=${bias.toFixed(3)})`);
  }
  if (img === image) img = image.slice();
  if (msk === mask) msk = mask.slice();
  return { image: img, mask: msk, steps };
}
