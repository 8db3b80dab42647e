/**
 * Deterministic inference (METHOD-NOTES "The loop", step 5): argmax actions for rl.episodeLength
 * steps, then segment the final state. No label is used.
 */
import * as tf from '@tensorflow/tfjs';
import type { RlConfig } from '@mrlseg/types';
import { forwardPolicy, forwardSegmentation } from './networks';
import { agentProbabilities, agentToPixels, applyActions, assertImages, chooseActions, policyInput, representState } from './environment';
import { isUnitCredit, unitGreedy } from './unit-policy';

/** rl with 'patch' credit's agent size applied (agent.ts's effectiveRl; kept local to avoid an import cycle). */
const agentRl = (rl: RlConfig): RlConfig => (rl.credit === 'patch' ? { ...rl, patchSize: rl.unitSize } : rl);

export interface DeterministicEpisode {
  /** Segmentation-Net probability on s(T), B x H x W x 1. */
  probabilities: tf.Tensor4D;
  /** Pixel-level actions of each step (1 retain, 0 mask), T maps B x H x W x 1 (Fig. 9). */
  actions: tf.Tensor4D[];
  /** Retained mask after each step (cumulative), T maps B x H x W x 1. */
  retained: tf.Tensor4D[];
  /** s(0)..s(T), T + 1 maps B x H x W x 1 (s(0) is a copy of the images). */
  states: tf.Tensor4D[];
  /** Disposes every tensor above. */
  dispose(): void;
}

/**
 * Runs the policy greedily for rl.episodeLength steps and segments the represented image.
 * @param images - B x H x W x 1, normalised like the training images.
 */
/**
 * The greedy policy's final represented image s(T) only (no segmentation, no intermediate maps):
 * what the Segmentation-Net sees at test time, used to fine-tune it (rl.finetuneOn = 'greedy').
 * @param images - B x H x W x 1, normalised like the training images.
 * @returns s(T), B x H x W x 1 (a new tensor).
 */
export function representGreedy(policyNet: tf.LayersModel, images: tf.Tensor4D, rlIn: RlConfig, segNet?: tf.LayersModel): tf.Tensor4D {
  const rl = agentRl(rlIn);
  if (isUnitCredit(rl)) {
    if (!segNet) throw new TypeError(`representGreedy: rl.credit '${rl.credit}' needs the Segmentation-Net (segNet)`);
    const g = unitGreedy(policyNet, segNet, images, rl);
    g.retained.dispose();
    return g.state;
  }
  assertImages('representGreedy', 'images', images, rl.patchSize);
  return tf.tidy(() => {
    let retained = tf.onesLike(images) as tf.Tensor4D;
    let state: tf.Tensor4D = images;
    for (let t = 0; t < rl.episodeLength; t++) {
      const { probs } = forwardPolicy(policyNet, policyInput(state, retained, rl.maskHistory));
      retained = applyActions(retained, agentToPixels(chooseActions(agentProbabilities(probs, rl.patchSize), 'greedy'), rl.patchSize));
      state = representState(images, retained, rl.maskValue);
    }
    return state === images ? images.clone() : state;
  });
}

export function runEpisodeDeterministic(
  policyNet: tf.LayersModel,
  segNet: tf.LayersModel,
  images: tf.Tensor4D,
  rlIn: RlConfig,
): DeterministicEpisode {
  const rl = agentRl(rlIn);
  if (isUnitCredit(rl)) {
    // One decision per unit on the raw image (unit-policy.ts): a single step.
    const g = unitGreedy(policyNet, segNet, images, rl);
    const probabilities = forwardSegmentation(segNet, g.state);
    const actions = [g.retained.clone()];
    const states = [images.clone(), g.state];
    return {
      probabilities,
      actions,
      retained: [g.retained],
      states,
      dispose() {
        tf.dispose([probabilities, ...actions, g.retained, ...states]);
      },
    };
  }
  assertImages('runEpisodeDeterministic', 'images', images, rl.patchSize);
  const actions: tf.Tensor4D[] = [];
  const retainedMaps: tf.Tensor4D[] = [];
  const states: tf.Tensor4D[] = [images.clone()];
  const all = () => [...actions, ...retainedMaps, ...states];
  try {
    let retained = tf.onesLike(images) as tf.Tensor4D;
    for (let t = 0; t < rl.episodeLength; t++) {
      const state = states[states.length - 1];
      const pixelActions = tf.tidy(() => {
        const { probs, value } = forwardPolicy(policyNet, policyInput(state, retained, rl.maskHistory));
        value.dispose();
        return agentToPixels(chooseActions(agentProbabilities(probs, rl.patchSize), 'greedy'), rl.patchSize);
      });
      actions.push(pixelActions);
      const next = applyActions(retained, pixelActions);
      if (t === 0) retained.dispose();
      retained = next;
      retainedMaps.push(next);
      states.push(representState(images, retained, rl.maskValue));
    }
    const probabilities = forwardSegmentation(segNet, states[states.length - 1]);
    return {
      probabilities,
      actions,
      retained: retainedMaps,
      states,
      dispose() {
        tf.dispose([probabilities, ...all()]);
      },
    };
  } catch (err) {
    tf.dispose(all());
    throw err;
  }
}
