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
 * fbRatio = foreground / background for `foreground` lesion pixels among `total` pixels: the one
 * definition lives in @mrlseg/metrics (`fbRatioFromCounts`); this name stays for existing callers.
 */
export { fbRatioFromCounts as fbRatioOf } from '@mrlseg/metrics';
