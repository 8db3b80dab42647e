/**
 * The paper's preprocessing (Section IV; METHOD-NOTES "Evaluation protocol"), one function per
 * step, each recorded in the sample's metadata: CT window (clip HU to [-79, 304], rescale to
 * [0, 255]; volumes in HU only), RGB to grey (done at decode time, Rec. 601 luma), resize
 * (bilinear for images, nearest for masks) and scaling to [0, 1].
 */
import { createHash } from 'node:crypto';
import type { PreprocessingConfig, PreprocessingRecord } from '@mrlseg/types';
import type { RawSlice } from './types';

/**
 * Clips `hu` to [min, max] and rescales linearly to [0, 255].
 * @param hu - H x W values in Hounsfield units.
 */
export function applyCtWindow(hu: Float32Array, min: number, max: number): Float32Array {
  if (!(max > min)) throw new Error(`applyCtWindow: max must exceed min, got min=${min}, max=${max}`);
  const out = new Float32Array(hu.length);
  const k = 255 / (max - min);
  for (let i = 0; i < hu.length; i++) {
    const v = hu[i] < min ? min : hu[i] > max ? max : hu[i];
    out[i] = (v - min) * k;
  }
  return out;
}

function checkDims(fn: string, len: number, w: number, h: number, ow: number, oh: number) {
  if (len !== w * h) throw new Error(`${fn}: data has ${len} values, expected width*height = ${w}*${h}`);
  if (!Number.isInteger(ow) || !Number.isInteger(oh) || ow <= 0 || oh <= 0) throw new Error(`${fn}: output size must be positive integers, got ${ow}x${oh}`);
}

/**
 * Bilinear resize of a row-major H x W image to outH x outW with half-pixel centres (the
 * convention of OpenCV INTER_LINEAR and tf.image.resizeBilinear with halfPixelCenters).
 */
export function resizeBilinear(src: Float32Array, w: number, h: number, outW: number, outH: number): Float32Array {
  checkDims('resizeBilinear', src.length, w, h, outW, outH);
  if (w === outW && h === outH) return Float32Array.from(src);
  const out = new Float32Array(outW * outH);
  const sx = w / outW;
  const sy = h / outH;
  for (let y = 0; y < outH; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    const y0 = Math.min(h - 1, Math.floor(fy));
    const y1 = Math.min(h - 1, y0 + 1);
    const dy = fy - y0;
    for (let x = 0; x < outW; x++) {
      let fx = (x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      const x0 = Math.min(w - 1, Math.floor(fx));
      const x1 = Math.min(w - 1, x0 + 1);
      const dx = fx - x0;
      const top = src[y0 * w + x0] * (1 - dx) + src[y0 * w + x1] * dx;
      const bot = src[y1 * w + x0] * (1 - dx) + src[y1 * w + x1] * dx;
      out[y * outW + x] = top * (1 - dy) + bot * dy;
    }
  }
  return out;
}

/** Nearest-neighbour resize (for masks: labels stay 0/1), sampling the source pixel whose centre is nearest. */
export function resizeNearest(src: Uint8Array, w: number, h: number, outW: number, outH: number): Uint8Array {
  checkDims('resizeNearest', src.length, w, h, outW, outH);
  if (w === outW && h === outH) return Uint8Array.from(src);
  const out = new Uint8Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const yy = Math.min(h - 1, Math.floor((y + 0.5) * (h / outH)));
    for (let x = 0; x < outW; x++) {
      const xx = Math.min(w - 1, Math.floor((x + 0.5) * (w / outW)));
      out[y * outW + x] = src[yy * w + xx];
    }
  }
  return out;
}

/** Stable hash of the preprocessing settings that change pixels (not augmentation, not cacheDir). */
export function preprocessingHash(cfg: PreprocessingConfig): string {
  const key = JSON.stringify({ v: 1, size: cfg.size, ctWindow: cfg.ctWindow, grey: cfg.grey });
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Runs the deterministic preprocessing on a decoded slice and says what it did.
 * @returns image (size x size, [0, 1]), mask (size x size, 0/1) and the record for meta.preprocessing.
 */
export function preprocessSlice(
  raw: RawSlice,
  cfg: PreprocessingConfig,
): { image: Float32Array; mask: Uint8Array; width: number; height: number; record: PreprocessingRecord; distractor?: Uint8Array } {
  if (raw.image.length !== raw.width * raw.height || raw.mask.length !== raw.width * raw.height) {
    throw new Error(`preprocessSlice: image/mask length must be width*height = ${raw.width}*${raw.height}`);
  }
  if (raw.rgbToGrey && !cfg.grey) {
    throw new Error('preprocessSlice: preprocessing.grey is false but the image is RGB; samples are single-channel, set grey: true');
  }
  const record: PreprocessingRecord = { rgbToGrey: raw.rgbToGrey, scaledTo01: true, augmentation: [], configHash: preprocessingHash(cfg) };
  let img = raw.image;
  let lo = 0;
  let hi = 255;
  const windowOn = cfg.ctWindow.mode === 'on' || (cfg.ctWindow.mode === 'auto' && raw.hu);
  if (windowOn) {
    img = applyCtWindow(img, cfg.ctWindow.min, cfg.ctWindow.max);
    record.ctWindow = [cfg.ctWindow.min, cfg.ctWindow.max];
  } else if (raw.hu) {
    // HU without a window: scale by the slice's own range so [0, 1] still holds.
    lo = Infinity;
    hi = -Infinity;
    for (const v of img) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(hi > lo)) hi = lo + 1;
  }
  const s = cfg.size;
  const resized = resizeBilinear(img, raw.width, raw.height, s, s);
  const mask = resizeNearest(raw.mask, raw.width, raw.height, s, s);
  if (raw.width !== s || raw.height !== s) record.resizedTo = [s, s];
  const k = 1 / (hi - lo);
  for (let i = 0; i < resized.length; i++) {
    const v = (resized[i] - lo) * k;
    resized[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  const distractor = raw.distractor && raw.distractor.length === raw.width * raw.height ? resizeNearest(raw.distractor, raw.width, raw.height, s, s) : undefined;
  return { image: resized, mask, width: s, height: s, record, ...(distractor ? { distractor } : {}) };
}
