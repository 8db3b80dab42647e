import type * as tf from '@tensorflow/tfjs';

/** Throws unless `yTrue` and `yPred` are B x H x W x 1 tensors of the same shape. */
export function checkPair(fn: string, yTrue: tf.Tensor, yPred: tf.Tensor): void {
  if (yPred.rank !== 4 || yPred.shape[3] !== 1) throw new Error(`${fn}: yPred must be B x H x W x 1 probabilities, got shape [${yPred.shape.join(', ')}]`);
  if (yTrue.shape.join(',') !== yPred.shape.join(',')) throw new Error(`${fn}: yTrue shape [${yTrue.shape.join(', ')}] differs from yPred shape [${yPred.shape.join(', ')}]`);
}

/** Probabilities are clipped to [EPS, 1 - EPS] before logarithms. */
export const EPS = 1e-7;
