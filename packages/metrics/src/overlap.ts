/**
 * Overlap metrics from the confusion counts of two binary masks: Dice (Section IV-B-1 of the paper,
 * Dice(A, B) = |A and B| / ((|A| + |B|) / 2)), IoU (Jaccard), precision and recall.
 * Convention: a ratio whose denominator is 0 is undefined and returned as `null` (never 0 or 1 by
 * default); see the README's "Empty masks" table.
 */
import { assertMask, assertShape } from './validation';

/** Pixel counts of a prediction against a ground truth (non-zero = foreground). */
export interface ConfusionCounts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** Counts true/false positives/negatives of `pred` against `gt` (both row-major H x W). */
export function computeConfusion(pred: Uint8Array, gt: Uint8Array, width: number, height: number): ConfusionCounts {
  assertShape('computeConfusion', width, height);
  assertMask('computeConfusion', 'pred', pred, width, height);
  assertMask('computeConfusion', 'gt', gt, width, height);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] !== 0;
    const g = gt[i] !== 0;
    if (p && g) tp++;
    else if (p) fp++;
    else if (g) fn++;
  }
  return { tp, fp, fn, tn: pred.length - tp - fp - fn };
}

const ratio = (num: number, den: number): number | null => (den === 0 ? null : num / den);

/** Dice = 2 TP / (2 TP + FP + FN) in [0, 1]; `null` when both masks are empty. */
export const diceFromCounts = (c: ConfusionCounts): number | null => ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);
/** IoU (Jaccard) = TP / (TP + FP + FN) in [0, 1]; `null` when both masks are empty. */
export const iouFromCounts = (c: ConfusionCounts): number | null => ratio(c.tp, c.tp + c.fp + c.fn);
/** Precision = TP / (TP + FP); `null` when the prediction is empty. */
export const precisionFromCounts = (c: ConfusionCounts): number | null => ratio(c.tp, c.tp + c.fp);
/** Recall (sensitivity) = TP / (TP + FN); `null` when the ground truth is empty. */
export const recallFromCounts = (c: ConfusionCounts): number | null => ratio(c.tp, c.tp + c.fn);

/** Dice of two masks; see {@link diceFromCounts} for the empty-mask convention. */
export function computeDice(pred: Uint8Array, gt: Uint8Array, width: number, height: number): number | null {
  return diceFromCounts(computeConfusion(pred, gt, width, height));
}
