/**
 * Eq. (4) of Yang et al. (MRL-Seg, IEEE JBHI 2024): the per-pixel binary cross-entropy of the
 * Segmentation-Net's lesion probability against the label,
 * P_i = -y_i log p_i - (1 - y_i) log(1 - p_i).
 */
import * as tf from '@tensorflow/tfjs';
import { assertMap, assertSameShape, assertOpenInterval } from './validate';

/** p and 1 - p are clipped to [eps, 1] before the logarithm (finite CE at p = 0 or 1). */
export const DEFAULT_CE_EPS = 1e-7;

/**
 * Per-pixel binary cross-entropy, Eq. (4).
 * @param probability - Segmentation-Net output p, B x H x W x 1, values in [0, 1].
 * @param label - ground truth y, B x H x W x 1; values > 0.5 count as lesion (1), others as 0.
 * @param eps - lower clip of p and 1 - p, in (0, 0.5).
 * @returns P, B x H x W x 1, in nats (>= 0; at most -log(eps)).
 */
export function computePixelCrossEntropy(probability: tf.Tensor4D, label: tf.Tensor4D, eps = DEFAULT_CE_EPS): tf.Tensor4D {
  const fn = 'computePixelCrossEntropy';
  assertMap(fn, 'probability', probability);
  assertMap(fn, 'label', label);
  assertSameShape(fn, 'probability', probability, 'label', label);
  assertOpenInterval(fn, 'eps', eps, 0, 0.5);
  return tf.tidy(() => {
    const p = probability.toFloat();
    const y = tf.cast(tf.greater(label, 0.5), 'float32');
    // Clip p and 1 - p separately: 1 - eps is not representable in float32 for eps = 1e-7.
    const logP = tf.log(tf.clipByValue(p, eps, 1));
    const log1mP = tf.log(tf.clipByValue(tf.sub(1, p), eps, 1));
    const ce = tf.neg(tf.add(tf.mul(y, logP), tf.mul(tf.sub(1, y), log1mP)));
    return ce as tf.Tensor4D;
  });
}
