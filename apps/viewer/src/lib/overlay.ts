/**
 * Composition of a case view as in the paper's Figs. 5-8: the (windowed) image with the
 * prediction in red, the ground truth in green and their overlap in yellow, plus the RL action
 * mask of Fig. 9 (pixels the Reinforcement-Net masked) in blue. Pure functions over H x W grey
 * arrays (row-major, one byte per pixel), so they are tested without a canvas.
 */

export interface GreyImage {
  width: number;
  height: number;
  /** row-major, width * height values in [0, 255] */
  data: Uint8ClampedArray | Uint8Array;
}

export interface LayerStyle {
  visible: boolean;
  /** 0..1 */
  opacity: number;
}

export interface OverlayOptions {
  prediction: LayerStyle;
  groundTruth: LayerStyle;
  overlap: LayerStyle;
  actions: LayerStyle;
  /** display window (grey levels of the served PNG): centre and width */
  level: number;
  window: number;
}

export const LAYER_COLOURS = {
  prediction: [255, 0, 0],
  groundTruth: [0, 255, 0],
  overlap: [255, 255, 0],
  actions: [0, 110, 255],
} as const;

/** A mask pixel is foreground when its grey value is at least this (masks are served as 0/255). */
export const MASK_THRESHOLD = 128;

/**
 * Maps grey level v through a display window: [level - window/2, level + window/2] -> [0, 255],
 * clamped. window must be positive.
 */
export function applyWindow(v: number, level: number, window: number): number {
  if (!(window > 0)) throw new RangeError(`applyWindow: window must be > 0, got ${window}`);
  const lo = level - window / 2;
  const out = ((v - lo) / window) * 255;
  return out <= 0 ? 0 : out >= 255 ? 255 : Math.round(out);
}

/** Nearest-neighbour resampling of a grey image to width x height (masks keep their values). */
export function resizeNearest(img: GreyImage, width: number, height: number): GreyImage {
  if (img.width === width && img.height === height) return img;
  if (!(width > 0 && height > 0)) throw new RangeError(`resizeNearest: target size must be positive, got ${width}x${height}`);
  const out = new Uint8ClampedArray(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / width));
      out[y * width + x] = img.data[sy * img.width + sx];
    }
  }
  return { width, height, data: out };
}

function blend(rgba: Uint8ClampedArray, i: number, c: readonly number[], a: number): void {
  rgba[i] = rgba[i] * (1 - a) + c[0] * a;
  rgba[i + 1] = rgba[i + 1] * (1 - a) + c[1] * a;
  rgba[i + 2] = rgba[i + 2] * (1 - a) + c[2] * a;
}

export interface OverlayCounts {
  predictionOnly: number;
  groundTruthOnly: number;
  overlap: number;
  masked: number;
}

/**
 * RGBA (width * height * 4) of the image with the visible layers blended on top, in the image's
 * size (masks of another size are resampled by nearest neighbour). `actions` marks masked pixels
 * (value >= {@link MASK_THRESHOLD}); pass null when the run has no RL agent.
 * @returns the pixels and how many pixels fall in each overlay class (independent of visibility)
 */
export function composeOverlay(
  image: GreyImage,
  prediction: GreyImage | null,
  groundTruth: GreyImage | null,
  actions: GreyImage | null,
  opts: OverlayOptions,
): { rgba: Uint8ClampedArray; counts: OverlayCounts } {
  const { width, height } = image;
  if (image.data.length !== width * height) {
    throw new RangeError(`composeOverlay: image data has ${image.data.length} values, expected ${width}x${height}`);
  }
  const pred = prediction && resizeNearest(prediction, width, height);
  const gt = groundTruth && resizeNearest(groundTruth, width, height);
  const act = actions && resizeNearest(actions, width, height);
  const rgba = new Uint8ClampedArray(width * height * 4);
  const counts: OverlayCounts = { predictionOnly: 0, groundTruthOnly: 0, overlap: 0, masked: 0 };
  for (let p = 0; p < width * height; p++) {
    const i = p * 4;
    const g = applyWindow(image.data[p], opts.level, opts.window);
    rgba[i] = g;
    rgba[i + 1] = g;
    rgba[i + 2] = g;
    rgba[i + 3] = 255;
    const masked = act !== null && act.data[p] >= MASK_THRESHOLD;
    if (masked) {
      counts.masked++;
      if (opts.actions.visible) blend(rgba, i, LAYER_COLOURS.actions, opts.actions.opacity);
    }
    const isP = pred !== null && pred.data[p] >= MASK_THRESHOLD;
    const isG = gt !== null && gt.data[p] >= MASK_THRESHOLD;
    if (isP && isG) {
      counts.overlap++;
      if (opts.overlap.visible) blend(rgba, i, LAYER_COLOURS.overlap, opts.overlap.opacity);
      else if (opts.prediction.visible) blend(rgba, i, LAYER_COLOURS.prediction, opts.prediction.opacity);
      else if (opts.groundTruth.visible) blend(rgba, i, LAYER_COLOURS.groundTruth, opts.groundTruth.opacity);
    } else if (isP) {
      counts.predictionOnly++;
      if (opts.prediction.visible) blend(rgba, i, LAYER_COLOURS.prediction, opts.prediction.opacity);
    } else if (isG) {
      counts.groundTruthOnly++;
      if (opts.groundTruth.visible) blend(rgba, i, LAYER_COLOURS.groundTruth, opts.groundTruth.opacity);
    }
  }
  return { rgba, counts };
}

/**
 * The represented image of Fig. 9: pixels the agent masked set to `maskValue` (0 = black), the
 * rest windowed as in the main view. RGBA output.
 */
export function representedImage(image: GreyImage, actions: GreyImage, level: number, window: number, maskValue = 0): Uint8ClampedArray {
  const act = resizeNearest(actions, image.width, image.height);
  const rgba = new Uint8ClampedArray(image.width * image.height * 4);
  for (let p = 0; p < image.width * image.height; p++) {
    const v = act.data[p] >= MASK_THRESHOLD ? maskValue : applyWindow(image.data[p], level, window);
    rgba.set([v, v, v, 255], p * 4);
  }
  return rgba;
}
