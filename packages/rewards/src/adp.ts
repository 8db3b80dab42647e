/**
 * Eq. (10) of Yang et al. (MRL-Seg, IEEE JBHI 2024): the approximate difficulty of a pixel (ADP),
 * J_i = |{p in F_i : y_p != y_i}| / |F_i|, the fraction of pixels in the window F_i centred on
 * pixel i whose label differs from y_i. The window includes the centre (which agrees with itself);
 * at the image border F_i holds only the pixels inside the image.
 */
import * as tf from '@tensorflow/tfjs';
import { assertMap, assertOddSize } from './validate';

/** Default window: 5 x 5 (METHOD-NOTES "Rewards"). */
export const DEFAULT_ADP_WINDOW = 5;

/**
 * ADP map, Eq. (10).
 * @param label - ground truth y, B x H x W x 1 (> 0.5 = lesion).
 * @param window - odd side of the square window F_i, in pixels.
 * @returns J, B x H x W x 1, dimensionless in [0, 1] (0: all neighbours agree; 1: all differ).
 */
export function computeAdp(label: tf.Tensor4D, window = DEFAULT_ADP_WINDOW): tf.Tensor4D {
  const fn = 'computeAdp';
  assertMap(fn, 'label', label);
  assertOddSize(fn, 'window', window);
  return tf.tidy(() => {
    const y = tf.cast(tf.greater(label, 0.5), 'float32') as tf.Tensor4D;
    const ones = tf.ones([window, window, 1, 1]) as tf.Tensor4D;
    const lesionCount = tf.conv2d(y, ones, 1, 'same');
    const inside = tf.conv2d(tf.onesLike(y) as tf.Tensor4D, ones, 1, 'same');
    // y_i = 1: the differing pixels are the background ones; y_i = 0: the lesion ones.
    const differing = tf.add(tf.mul(y, tf.sub(inside, lesionCount)), tf.mul(tf.sub(1, y), lesionCount));
    return tf.div(differing, inside) as tf.Tensor4D;
  });
}
