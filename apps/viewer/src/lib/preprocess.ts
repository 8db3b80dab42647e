/**
 * Input preparation for the in-browser model (Try it): grey image -> B x H x W x 1 float32 in
 * [0, 1] at the model's input size (bilinear, pixel centres aligned), and output planes back to
 * masks. Pure, so tested without onnxruntime.
 */
import type { GreyImage } from './overlay';

/** Bilinear resize of a grey image to width x height, scaled to [0, 1] (value / 255). */
export function resizeBilinear01(img: GreyImage, width: number, height: number): Float32Array {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new RangeError(`resizeBilinear01: target size must be positive integers, got ${width}x${height}`);
  }
  if (img.data.length !== img.width * img.height) throw new RangeError(`resizeBilinear01: image has ${img.data.length} values, expected ${img.width}x${img.height}`);
  const out = new Float32Array(width * height);
  const sx = img.width / width;
  const sy = img.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(img.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(img.height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(img.width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(img.width - 1, x0 + 1);
      const wx = fx - x0;
      const a = img.data[y0 * img.width + x0] * (1 - wx) + img.data[y0 * img.width + x1] * wx;
      const b = img.data[y1 * img.width + x0] * (1 - wx) + img.data[y1 * img.width + x1] * wx;
      out[y * width + x] = (a * (1 - wy) + b * wy) / 255;
    }
  }
  return out;
}

export type Layout = 'NHWC' | 'NCHW';

/**
 * Layout, height and width of a 4-D image input shape [1, H, W, 1] or [1, 1, H, W] (symbolic dims
 * -> the fallback height, and width, default the same).
 */
export function inputGeometry(shape: readonly (number | string)[] | undefined, fallbackSize: number, fallbackWidth: number = fallbackSize): { layout: Layout; height: number; width: number } {
  const num = (v: number | string | undefined) => (typeof v === 'number' && v > 0 ? v : null);
  if (shape && shape.length === 4) {
    if (num(shape[1]) === 1 && num(shape[3]) !== 1) return { layout: 'NCHW', height: num(shape[2]) ?? fallbackSize, width: num(shape[3]) ?? fallbackWidth };
    return { layout: 'NHWC', height: num(shape[1]) ?? fallbackSize, width: num(shape[2]) ?? fallbackWidth };
  }
  return { layout: 'NHWC', height: fallbackSize, width: fallbackWidth };
}

/**
 * Network inputs from grey / 255 values: clamp(grey x scale + offset, 0, 1), the model's
 * intensity scaling (@mrlseg/types InferenceMetadata; scale 1/255 and offset 0 leave them as they are).
 */
export function scaleIntensity(grey01: Float32Array, scale: number, offset: number): Float32Array {
  if (!(Number.isFinite(scale) && scale !== 0 && Number.isFinite(offset))) throw new RangeError(`scaleIntensity: scale must be finite and non-zero and offset finite, got ${scale}, ${offset}`);
  const out = new Float32Array(grey01.length);
  for (let i = 0; i < grey01.length; i++) {
    const v = grey01[i] * 255 * scale + offset;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}

/**
 * Channel planes of a batch-1 output [1, H, W, C] (NHWC) or [1, C, H, W] (NCHW) as H x W arrays.
 */
export function planes(data: ArrayLike<number>, dims: readonly number[], layout: Layout, what: string): { width: number; height: number; planes: Float32Array[] } {
  if (dims.length !== 4 || dims[0] !== 1) throw new Error(`${what}: expected a batch-1 4-D output, got shape [${dims.join(', ')}]`);
  const [h, w, c] = layout === 'NHWC' ? [dims[1], dims[2], dims[3]] : [dims[2], dims[3], dims[1]];
  const out = Array.from({ length: c }, () => new Float32Array(h * w));
  for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) out[k][i] = Number(layout === 'NHWC' ? data[i * c + k] : data[k * h * w + i]);
  return { width: w, height: h, planes: out };
}

/** 0/255 mask of plane >= threshold. */
export function threshold(plane: Float32Array, width: number, height: number, t = 0.5): GreyImage {
  const data = new Uint8ClampedArray(plane.length);
  for (let i = 0; i < plane.length; i++) data[i] = plane[i] >= t ? 255 : 0;
  return { width, height, data };
}

/** Pixels masked at any step: the union over the action planes (1 = masked, as @mrlseg/models exports them). */
export function maskedUnion(p: Float32Array[], width: number, height: number): GreyImage {
  const data = new Uint8ClampedArray(width * height);
  for (const plane of p) for (let i = 0; i < plane.length; i++) if (plane[i] >= 0.5) data[i] = 255;
  return { width, height, data };
}
