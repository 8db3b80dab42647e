import * as tf from '@tensorflow/tfjs';
import { checkPair, EPS } from './validate';

/**
 * Binary cross-entropy, mean over B x H x W:
 * L_BCE = -(1/N) sum_i [ y_i log p_i + (1 - y_i) log(1 - p_i) ], p clipped to [1e-7, 1 - 1e-7].
 * @param yTrue B x H x W x 1 labels in {0, 1}. @param yPred B x H x W x 1 probabilities.
 * @returns a scalar in nats per pixel.
 */
export function computeBceLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  checkPair('computeBceLoss', yTrue, yPred);
  return tf.tidy(() => {
    const p = tf.clipByValue(yPred, EPS, 1 - EPS);
    return tf.neg(tf.mean(tf.add(tf.mul(yTrue, tf.log(p)), tf.mul(tf.sub(1, yTrue), tf.log(tf.sub(1, p)))))) as tf.Scalar;
  });
}
