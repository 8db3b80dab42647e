/**
 * One step's reward map from the config switches: Eq. (4) on the new prediction, Eq. (5) against
 * the previous step's cross-entropy, and Eq. (3)'s global term unless rl.useFb is false. Nothing
 * here is new mathematics: it composes the one-equation functions so that the ablation variants
 * (no FB, no ADP) are configuration, not code.
 */
import * as tf from '@tensorflow/tfjs';
import type { RlConfig } from '@mrlseg/types';
import { computePixelCrossEntropy } from './pixel-cross-entropy';
import { computeLocalReward } from './local-reward';
import { computeFbReward, type FbRewardOptions } from './fb-reward';

/** The reward options of an {@link RlConfig}. */
export function fbOptionsFromConfig(rl: Pick<RlConfig, 'alpha' | 'beta' | 'fbEps' | 'fbScale' | 'useFb'>): FbRewardOptions {
  return { alpha: rl.alpha, beta: rl.beta, eps: rl.fbEps, scale: rl.fbScale, enabled: rl.useFb };
}

export interface StepReward {
  /** P(t), Eq. (4), B x H x W x 1, nats: the next step's previous cross-entropy. */
  crossEntropy: tf.Tensor4D;
  /** r(t), Eq. (5), B x H x W x 1, nats. */
  localReward: tf.Tensor4D;
  /** r*(t), Eq. (3) (or r(t) when FB is off), B x H x W x 1, nats. */
  reward: tf.Tensor4D;
}

/**
 * Reward of one step.
 * @param previousCrossEntropy - P(t-1), B x H x W x 1 (P(-1): cross-entropy on the raw image).
 * @param probability - Segmentation-Net output on s(t+1), B x H x W x 1.
 * @param retained - retained mask after the step, B x H x W x 1.
 * @param label - ground truth, B x H x W x 1 (used for rewards only).
 * @returns three new tensors the caller disposes.
 */
export function computeStepReward(
  previousCrossEntropy: tf.Tensor4D,
  probability: tf.Tensor4D,
  retained: tf.Tensor4D,
  label: tf.Tensor4D,
  fb: FbRewardOptions,
): StepReward {
  const crossEntropy = computePixelCrossEntropy(probability, label);
  const localReward = computeLocalReward(previousCrossEntropy, crossEntropy);
  const reward = computeFbReward(localReward, retained, label, fb);
  return { crossEntropy, localReward, reward };
}
