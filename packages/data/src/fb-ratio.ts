/**
 * Foreground counting for sample metadata. fbRatio = foreground / background pixels of the
 * binary lesion mask at the original resolution (the paper's x in Eq. 3, as a fraction, not %).
 */

/** Number of non-zero entries of a row-major H x W mask. */
export function countForeground(mask: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  return n;
}

/**
 * fbRatio = foreground / background for `foreground` lesion pixels among `total` pixels.
 * A mask that is all foreground (no background) gets `Number.MAX_VALUE` so JSON stays finite.
 */
export function fbRatioOf(foreground: number, total: number): number {
  if (!Number.isInteger(foreground) || !Number.isInteger(total) || foreground < 0 || total <= 0 || foreground > total) {
    throw new Error(`fbRatioOf: expected integers 0 <= foreground <= total, total > 0; got foreground=${foreground}, total=${total}`);
  }
  const bg = total - foreground;
  return bg === 0 ? Number.MAX_VALUE : foreground / bg;
}
