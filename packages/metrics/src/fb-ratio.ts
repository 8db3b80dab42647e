/**
 * The foreground/background ratio of a label mask: x = N_Front / N_Back of Eq. (3), used by the
 * paper to bucket test cases into ratio intervals (Tables I-IV).
 */

/** fbRatio and foreground fraction of one label mask. */
export interface FbRatio {
  /** x of Eq. (3): foreground pixels / background pixels, a fraction (not %). `Number.MAX_VALUE` when there is no background. */
  fbRatio: number;
  /** Foreground pixels / all pixels, in [0, 1]. */
  foregroundFraction: number;
  foreground: number;
  background: number;
}

/**
 * fbRatio (Eq. 3's x = N_Front / N_Back) of a binary label mask `mask` (any length, non-zero =
 * foreground), plus the foreground fraction. An all-foreground mask gets `Number.MAX_VALUE` (the
 * same convention as @mrlseg/data) so records stay finite and JSON-safe.
 */
export function computeFbRatio(mask: ArrayLike<number>): FbRatio {
  if (mask === null || typeof mask !== 'object' || typeof mask.length !== 'number') {
    throw new TypeError(`computeFbRatio: mask must be an array-like of pixel values, got ${mask === null ? 'null' : typeof mask}`);
  }
  if (mask.length === 0) throw new RangeError('computeFbRatio: mask is empty (0 pixels); expected H x W > 0 values');
  let fg = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) fg++;
  return { fbRatio: fbRatioFromCounts(fg, mask.length), foregroundFraction: fg / mask.length, foreground: fg, background: mask.length - fg };
}

/**
 * fbRatio (Eq. 3's x) from pixel counts: `foreground` lesion pixels among `total` pixels, for
 * callers that count without materialising a mask (e.g. the slices of a NIfTI volume).
 * `Number.MAX_VALUE` when there is no background, as {@link computeFbRatio}.
 */
export function fbRatioFromCounts(foreground: number, total: number): number {
  if (!Number.isInteger(foreground) || !Number.isInteger(total) || foreground < 0 || total <= 0 || foreground > total) {
    throw new RangeError(`fbRatioFromCounts: expected integers 0 <= foreground <= total and total > 0, got foreground=${foreground}, total=${total}`);
  }
  const bg = total - foreground;
  return bg === 0 ? Number.MAX_VALUE : foreground / bg;
}
