import * as tf from '@tensorflow/tfjs';
import { checkPair } from './validate';

/** Smoothing of the soft Dice (added to numerator and denominator). */
export const DICE_SMOOTH = 1;

/**
 * Soft Dice loss per image, averaged over the batch:
 * L_Dice = 1 - (1/B) sum_b (2 sum_i p_bi y_bi + s) / (sum_i p_bi + sum_i y_bi + s), s = 1.
 * An empty label with an all-zero prediction costs 0; the smoothing keeps it finite.
 * @param yTrue B x H x W x 1 labels in {0, 1}. @param yPred B x H x W x 1 probabilities.
 */
export function computeDiceLoss(yTrue: tf.Tensor, yPred: tf.Tensor, smooth = DICE_SMOOTH): tf.Scalar {
  checkPair('computeDiceLoss', yTrue, yPred);
  if (!(smooth >= 0)) throw new Error(`computeDiceLoss: smooth must be >= 0, got ${smooth}`);
  return tf.tidy(() => {
    const inter = tf.sum(tf.mul(yTrue, yPred), [1, 2, 3]);
    const denom = tf.add(tf.sum(yTrue, [1, 2, 3]), tf.sum(yPred, [1, 2, 3]));
    return tf.sub(1, tf.mean(tf.div(tf.add(tf.mul(inter, 2), smooth), tf.add(denom, smooth)))) as tf.Scalar;
  });
}
