/**
 * Eq. (5) of Yang et al. (MRL-Seg, IEEE JBHI 2024): the local reward of agent (pixel) i at step t
 * is the decrease of its cross-entropy (Eq. 4) caused by the step, r_i(t) = P_i(t-1) - P_i(t).
 * P_i(-1) is the cross-entropy of the Segmentation-Net on the raw image (METHOD-NOTES "Rewards").
 */
import * as tf from '@tensorflow/tfjs';
import { assertMap, assertSameShape } from './validate';

/**
 * Local reward, Eq. (5).
 * @param previousCrossEntropy - P(t-1), B x H x W x 1, nats (Eq. 4 on the previous state, or on
 *   the raw image for t = 0).
 * @param crossEntropy - P(t), B x H x W x 1, nats (Eq. 4 on the state after step t).
 * @returns r(t) = P(t-1) - P(t), B x H x W x 1, nats; positive when the step lowered the error.
 */
export function computeLocalReward(previousCrossEntropy: tf.Tensor4D, crossEntropy: tf.Tensor4D): tf.Tensor4D {
  const fn = 'computeLocalReward';
  assertMap(fn, 'previousCrossEntropy', previousCrossEntropy);
  assertMap(fn, 'crossEntropy', crossEntropy);
  assertSameShape(fn, 'previousCrossEntropy', previousCrossEntropy, 'crossEntropy', crossEntropy);
  return tf.sub(previousCrossEntropy, crossEntropy);
}
