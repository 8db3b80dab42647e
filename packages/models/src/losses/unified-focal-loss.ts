import * as tf from '@tensorflow/tfjs';
import { checkPair, EPS } from './validate';

export interface UnifiedFocalOptions {
  /** lambda: weight of the focal (distribution) term vs the focal Tversky (region) term. */
  weight?: number;
  /** delta: weight of the rare (foreground) class, in (0, 1). */
  delta?: number;
  /** gamma: focal parameter, in [0, 1). */
  gamma?: number;
}

/** Defaults of Yeung et al. 2022 for the asymmetric variant: lambda 0.5, delta 0.6, gamma 0.5. */
export const UFL_DEFAULTS = { weight: 0.5, delta: 0.6, gamma: 0.5 } as const;

/**
 * Asymmetric Unified Focal loss, binary case (Yeung, Sala, Schonlieb, Rundo, "Unified Focal loss:
 * Generalising Dice and cross entropy-based losses to handle class imbalanced medical image
 * segmentation", Comput. Med. Imaging Graph. 95, 102026, 2022, Section 2.3, asymmetric form).
 * Classes: r = foreground (rare, p_r = p, y_r = y), c = background (p_c = 1 - p, y_c = 1 - y).
 *
 * Modified asymmetric focal loss (only the background is focally suppressed):
 *   L_maF = (1/N) sum_i [ -(1 - delta) (1 - p_ic)^gamma y_ic log p_ic  -  delta y_ir log p_ir ]
 * Modified asymmetric focal Tversky loss, with the Tversky index per image and class
 *   mTI_k = (TP_k + e) / (TP_k + delta FN_k + (1 - delta) FP_k + e),
 *   L_maFT = mean over images and the two classes of { (1 - mTI_c),  (1 - mTI_r)^(1 - gamma) }
 *   (only the foreground term is focally enhanced).
 * Unified: L_aUF = lambda L_maF + (1 - lambda) L_maFT.
 * p is clipped to [1e-7, 1 - 1e-7]; e = 1e-7.
 * @param yTrue B x H x W x 1 labels in {0, 1}. @param yPred B x H x W x 1 foreground probabilities.
 */
export function computeUnifiedFocalLoss(yTrue: tf.Tensor, yPred: tf.Tensor, opts: UnifiedFocalOptions = {}): tf.Scalar {
  checkPair('computeUnifiedFocalLoss', yTrue, yPred);
  const { weight, delta, gamma } = { ...UFL_DEFAULTS, ...opts };
  if (!(weight >= 0 && weight <= 1)) throw new Error(`computeUnifiedFocalLoss: weight must lie in [0, 1], got ${weight}`);
  if (!(delta > 0 && delta < 1)) throw new Error(`computeUnifiedFocalLoss: delta must lie in (0, 1), got ${delta}`);
  if (!(gamma >= 0 && gamma < 1)) throw new Error(`computeUnifiedFocalLoss: gamma must lie in [0, 1), got ${gamma}`);
  return tf.tidy(() => {
    const pr = tf.clipByValue(yPred, EPS, 1 - EPS);
    const pc = tf.sub(1, pr);
    const yr = yTrue;
    const yc = tf.sub(1, yTrue);
    // L_maF
    const back = tf.mul(tf.mul(tf.pow(tf.sub(1, pc), gamma), tf.mul(yc, tf.log(pc))), -(1 - delta));
    const fore = tf.mul(tf.mul(yr, tf.log(pr)), -delta);
    const maf = tf.mean(tf.add(back, fore));
    // L_maFT
    const tversky = (y: tf.Tensor, p: tf.Tensor) => {
      const tp = tf.sum(tf.mul(y, p), [1, 2, 3]);
      const fn = tf.sum(tf.mul(y, tf.sub(1, p)), [1, 2, 3]);
      const fp = tf.sum(tf.mul(tf.sub(1, y), p), [1, 2, 3]);
      return tf.div(tf.add(tp, EPS), tf.add(tf.add(tf.add(tp, tf.mul(fn, delta)), tf.mul(fp, 1 - delta)), EPS));
    };
    const backT = tf.sub(1, tversky(yc, pc));
    const foreT = tf.pow(tf.maximum(tf.sub(1, tversky(yr, pr)), EPS), 1 - gamma);
    const maft = tf.mean(tf.concat([backT, foreT]));
    return tf.add(tf.mul(maf, weight), tf.mul(maft, 1 - weight)) as tf.Scalar;
  });
}
