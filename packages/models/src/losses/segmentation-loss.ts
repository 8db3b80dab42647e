import type * as tf from '@tensorflow/tfjs';
import { LOSS_IDS, type LossId } from '@mrlseg/types';
import { computeBceDiceLoss } from './bce-dice-loss';
import { computeBceLoss } from './binary-cross-entropy';
import { computeDiceLoss } from './dice-loss';
import { computeUnifiedFocalLoss } from './unified-focal-loss';

export type SegmentationLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

/** The training loss named by the config's `training.loss` (bce, dice, bce-dice, ufl). */
export function segmentationLoss(id: LossId): SegmentationLoss {
  switch (id) {
    case 'bce':
      return computeBceLoss;
    case 'dice':
      return (y, p) => computeDiceLoss(y, p);
    case 'bce-dice':
      return computeBceDiceLoss;
    case 'ufl':
      return (y, p) => computeUnifiedFocalLoss(y, p);
    default:
      throw new Error(`segmentationLoss: unknown loss id '${String(id)}' (known: ${LOSS_IDS.join(', ')})`);
  }
}
