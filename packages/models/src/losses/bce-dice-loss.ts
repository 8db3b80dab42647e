import * as tf from '@tensorflow/tfjs';
import { computeBceLoss } from './binary-cross-entropy';
import { computeDiceLoss } from './dice-loss';

/**
 * The Segmentation-Net's pre-training loss (METHOD-NOTES, TransUNet reference):
 * L = 0.5 L_BCE + 0.5 L_Dice. Shapes as in {@link computeBceLoss}.
 */
export function computeBceDiceLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mul(computeBceLoss(yTrue, yPred), 0.5), tf.mul(computeDiceLoss(yTrue, yPred), 0.5)) as tf.Scalar);
}
