/**
 * The image-level objective the counterfactual credit formulations (rl.credit 'counterfactual' and
 * 'candidates', issue 15) difference per action unit: Eq. (3) of Yang et al. (MRL-Seg, IEEE JBHI
 * 2024) multiplied by N and taken against the all-zero reference,
 *   Q(s) = - sum_i (1 + J_i) P_i(s) + [FB on] alpha f(x(s)),   f(x) = x + beta / x,
 * with P_i the pixel cross-entropy of Eq. (4) on the Segmentation-Net's prediction for state s,
 * x the retained foreground/background ratio of Eq. (3) and J_i the ADP of Eq. (10) (taken as 0
 * when ADP is off). Eq. (5)'s local reward of a step is the change of -P_i, so a difference of Q
 * between two states is the summed Eq. (3) reward of moving from one to the other; ADP, which
 * Eq. (11) adds to a pixel's return, enters here as the pixel's weight 1 + J_i (there is no
 * multi-step return in these formulations to add it to).
 */
import * as tf from '@tensorflow/tfjs';
import { computePixelCrossEntropy, DEFAULT_CE_EPS } from './pixel-cross-entropy';
import { computeFbRatio, computeFbTerm, DEFAULT_FB_EPS, type FbRewardOptions } from './fb-reward';
import { assertMap, assertSameShape } from './validate';

export interface StateValueOptions {
  /** The FB prior of Eq. (3); `enabled: false` drops the term. `scale` is ignored (Q is per image). */
  fb: FbRewardOptions;
  /** J of Eq. (10), B x H x W x 1, or null without ADP. */
  adp?: tf.Tensor4D | null;
  /** Clip of the cross-entropy's probabilities (Eq. 4). */
  ceEps?: number;
}

/** The argument checks shared by the image-level values (this one and computeDiceStateValue). */
export function assertStateValueArgs(fn: string, probability: tf.Tensor4D, label: tf.Tensor4D, retained: tf.Tensor4D, options: Omit<StateValueOptions, 'ceEps'>): void {
  assertMap(fn, 'probability', probability);
  assertMap(fn, 'label', label);
  assertMap(fn, 'retained', retained);
  assertSameShape(fn, 'probability', probability, 'label', label);
  assertSameShape(fn, 'probability', probability, 'retained', retained);
  if (options === null || typeof options !== 'object' || !options.fb) throw new TypeError(`${fn}: options {fb, adp?} are required`);
  if (options.adp) {
    assertMap(fn, 'options.adp', options.adp);
    assertSameShape(fn, 'probability', probability, 'options.adp', options.adp);
  }
}

/**
 * Q(s) per image.
 * @param probability - Segmentation-Net output on s, B x H x W x 1, in [0, 1].
 * @param label - ground truth, B x H x W x 1 (> 0.5 = lesion).
 * @param retained - retained mask of s, B x H x W x 1 (1 retained, 0 masked).
 * @returns [B], nats per image (higher is better).
 */
export function computeStateValue(probability: tf.Tensor4D, label: tf.Tensor4D, retained: tf.Tensor4D, options: StateValueOptions): tf.Tensor1D {
  assertStateValueArgs('computeStateValue', probability, label, retained, options);
  return tf.tidy(() => {
    let ce: tf.Tensor = computePixelCrossEntropy(probability, label, options.ceEps ?? DEFAULT_CE_EPS);
    if (options.adp) ce = tf.mul(ce, tf.add(1, options.adp));
    let q = tf.neg(tf.sum(ce, [1, 2, 3]));
    if (options.fb.enabled !== false) {
      q = tf.add(q, computeFbTerm(computeFbRatio(retained, label, options.fb.eps ?? DEFAULT_FB_EPS), options.fb.alpha, options.fb.beta));
    }
    return q as tf.Tensor1D;
  });
}
