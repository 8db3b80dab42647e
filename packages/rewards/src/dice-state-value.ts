/**
 * A Dice-aligned image-level value for the counterfactual credit formulations (rl.objective
 * 'dice'; issue 15, docs/rl-formulations.md). Not an equation of Yang et al. (MRL-Seg, IEEE JBHI
 * 2024): it replaces the summed pixel cross-entropy of Eq. (3) x N ({@link computeStateValue}) by
 * the soft Dice that the paper evaluates with, because under extreme imbalance the two disagree.
 * Measured on the known-answer benchmark (docs/results.md, section 4): with the cross-entropy
 * value, masking a unit that holds a small lesion together with the Segmentation-Net's
 * over-segmentation around it RAISES Q in about half of the cases (the few lesion pixels' loss is
 * outweighed by the many background pixels' gain), while it sets that image's Dice to 0.
 *   Q(s) = 100 * (2 sum_i w_i p_i y_i + 1) / (sum_i w_i p_i + sum_i w_i y_i + 1)
 *          + [FB on] 100 * alpha f(x(s)) / N,
 * with p_i the Segmentation-Net's probability on state s, y_i the label, w_i = 1 + J_i (J the ADP
 * of Eq. 10; w = 1 without ADP), f(x) = x + beta / x the prior of Eq. (3) at Eq. (3)'s own 1/N
 * scale, and 1 a smoothing term so that an image without lesion scores 100 when nothing is
 * predicted. Units: Dice points (0..100) per image.
 */
import * as tf from '@tensorflow/tfjs';
import { computeFbRatio, computeFbTerm, DEFAULT_FB_EPS } from './fb-reward';
import { assertStateValueArgs, type StateValueOptions } from './state-value';

/** Scale of the Dice-aligned value: Dice points. */
export const DICE_VALUE_SCALE = 100;

/**
 * Q(s) per image (see the file comment).
 * @param probability - Segmentation-Net output on s, B x H x W x 1, in [0, 1].
 * @param label - ground truth, B x H x W x 1 (> 0.5 = lesion).
 * @param retained - retained mask of s, B x H x W x 1 (1 retained, 0 masked); enters through FB only.
 * @returns [B], Dice points per image (higher is better).
 */
export function computeDiceStateValue(probability: tf.Tensor4D, label: tf.Tensor4D, retained: tf.Tensor4D, options: Omit<StateValueOptions, 'ceEps'>): tf.Tensor1D {
  assertStateValueArgs('computeDiceStateValue', probability, label, retained, options);
  return tf.tidy(() => {
    const y = tf.cast(tf.greater(label, 0.5), 'float32');
    const w = options.adp ? tf.add(1, options.adp) : tf.onesLike(probability);
    const wp = tf.mul(w, probability);
    const inter = tf.sum(tf.mul(wp, y), [1, 2, 3]);
    const denom = tf.add(tf.sum(wp, [1, 2, 3]), tf.sum(tf.mul(w, y), [1, 2, 3]));
    let q = tf.mul(DICE_VALUE_SCALE, tf.div(tf.add(tf.mul(2, inter), 1), tf.add(denom, 1)));
    if (options.fb.enabled !== false) {
      const [, h, wd] = probability.shape;
      const term = computeFbTerm(computeFbRatio(retained, label, options.fb.eps ?? DEFAULT_FB_EPS), options.fb.alpha, options.fb.beta);
      q = tf.add(q, tf.mul(term, DICE_VALUE_SCALE / (h * wd)));
    }
    return q as tf.Tensor1D;
  });
}
