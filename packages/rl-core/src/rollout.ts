/**
 * One training episode (Fig. 2; METHOD-NOTES "The loop", step 3): s(0) = image; for t = 0..T-1 the
 * Reinforcement-Net's policy picks {mask, retain} per agent, the Representation-Net applies it, the
 * Segmentation-Net segments s(t+1) and the reward r*(t) is computed from that prediction
 * (Eq. 3-5). Labels enter the rewards only, never the policy's input. No gradients are taken here;
 * the loss (loss.ts) re-runs the policy on the recorded inputs.
 */
import * as tf from '@tensorflow/tfjs';
import type { RlConfig } from '@mrlseg/types';
import { computeAdp, computePixelCrossEntropy, computeStepReward, computeFbRatio, fbOptionsFromConfig } from '@mrlseg/rewards';
import { forwardPolicy, forwardSegmentation } from './networks';
import {
  agentProbabilities,
  agentToPixels,
  applyActions,
  assertImages,
  chooseActions,
  policyInput,
  representState,
} from './environment';

/** Wall-clock milliseconds spent per phase (synchronous backends: cpu, wasm). */
export interface PhaseTimings {
  policyForwardMs: number;
  segForwardMs: number;
  rewardMs: number;
  backwardMs: number;
  segFinetuneMs: number;
}

export const zeroTimings = (): PhaseTimings => ({ policyForwardMs: 0, segForwardMs: 0, rewardMs: 0, backwardMs: 0, segFinetuneMs: 0 });

/** A recorded episode; every tensor in it is owned by the episode (call dispose()). */
export interface Episode {
  /** Policy inputs for s(0)..s(T-1), each B x H x W x C. */
  inputs: tf.Tensor4D[];
  /** Agent actions a(0)..a(T-1), each B x h x w x 1 (h = H / patchSize): 1 retain, 0 mask. */
  actions: tf.Tensor4D[];
  /** Retained masks after each step, retained(1)..retained(T), B x H x W x 1. */
  retained: tf.Tensor4D[];
  /** r*(0)..r*(T-1), Eq. (3) (or Eq. 5 when FB is off), B x H x W x 1, nats. */
  rewards: tf.Tensor4D[];
  /** r(0)..r(T-1), Eq. (5), B x H x W x 1, nats. */
  localRewards: tf.Tensor4D[];
  /** x of Eq. (3) after each step, [B] each. */
  fbRatios: tf.Tensor1D[];
  /** J of Eq. (10), B x H x W x 1, or null when rl.useAdp is false. */
  adp: tf.Tensor4D | null;
  /** V(s(T)), B x H x W x 1: the bootstrap of Eq. (12). */
  bootstrapValue: tf.Tensor4D;
  /** s(T), B x H x W x 1: the represented images the Segmentation-Net saw last. */
  finalState: tf.Tensor4D;
  dispose(): void;
}

export interface CollectEpisodeOptions {
  policyNet: tf.LayersModel;
  segNet: tf.LayersModel;
  /** B x H x W x 1 images (already normalised; masked pixels become rl.maskValue). */
  images: tf.Tensor4D;
  /** B x H x W x 1 labels (> 0.5 = lesion); used for the rewards only. */
  labels: tf.Tensor4D;
  rl: RlConfig;
  /** 'sample' for training (default), 'greedy' for argmax actions. */
  mode?: 'sample' | 'greedy';
  /** Seed of the first step's sampling; step t uses seed + t. */
  seed?: number;
  /** Accumulates phase times when given. */
  timings?: PhaseTimings;
}

/** Runs one episode of rl.episodeLength steps and records what the loss needs. */
export function collectEpisode(o: CollectEpisodeOptions): Episode {
  const fn = 'collectEpisode';
  const { policyNet, segNet, images, labels, rl } = o;
  assertImages(fn, 'images', images, rl.patchSize);
  assertImages(fn, 'labels', labels, rl.patchSize);
  if (images.shape.some((d, i) => d !== labels.shape[i])) {
    throw new RangeError(`${fn}: images [${images.shape.join(', ')}] and labels [${labels.shape.join(', ')}] must have the same shape`);
  }
  const mode = o.mode ?? 'sample';
  const timings = o.timings ?? zeroTimings();
  const now = () => performance.now();
  const fb = fbOptionsFromConfig(rl);
  const k = rl.patchSize;
  const ep: Omit<Episode, 'dispose' | 'bootstrapValue' | 'finalState' | 'adp'> = {
    inputs: [],
    actions: [],
    retained: [],
    rewards: [],
    localRewards: [],
    fbRatios: [],
  };
  let adp: tf.Tensor4D | null = null;
  let retained = tf.onesLike(images) as tf.Tensor4D;
  let state = images.clone();
  let prevCe: tf.Tensor4D | null = null;
  try {
    let t0 = now();
    const raw = forwardSegmentation(segNet, images);
    timings.segForwardMs += now() - t0;
    t0 = now();
    prevCe = computePixelCrossEntropy(raw, labels);
    raw.dispose();
    if (rl.useAdp) adp = computeAdp(labels, rl.adpWindow);
    timings.rewardMs += now() - t0;
    for (let t = 0; t < rl.episodeLength; t++) {
      t0 = now();
      const input = policyInput(state, retained, rl.maskHistory);
      ep.inputs.push(input);
      const agentActions = tf.tidy(() => {
        const { probs, value } = forwardPolicy(policyNet, input);
        value.dispose();
        return chooseActions(agentProbabilities(probs, k), mode, o.seed === undefined ? undefined : o.seed + t);
      });
      ep.actions.push(agentActions);
      const nextRetained = tf.tidy(() => applyActions(retained, agentToPixels(agentActions, k)));
      if (t === 0) retained.dispose(); // the all-ones start is not recorded
      retained = nextRetained;
      ep.retained.push(nextRetained);
      state.dispose();
      state = representState(images, retained, rl.maskValue);
      timings.policyForwardMs += now() - t0;
      t0 = now();
      const prob = forwardSegmentation(segNet, state);
      timings.segForwardMs += now() - t0;
      t0 = now();
      const step = computeStepReward(prevCe, prob, retained, labels, fb);
      prob.dispose();
      prevCe.dispose();
      prevCe = step.crossEntropy;
      ep.rewards.push(step.reward);
      ep.localRewards.push(step.localReward);
      ep.fbRatios.push(computeFbRatio(retained, labels, rl.fbEps));
      timings.rewardMs += now() - t0;
    }
    t0 = now();
    const bootstrapValue = tf.tidy(() => {
      const { probs, value } = forwardPolicy(policyNet, policyInput(state, retained, rl.maskHistory));
      probs.dispose();
      return value;
    });
    timings.policyForwardMs += now() - t0;
    prevCe.dispose();
    const finalState = state;
    return {
      ...ep,
      adp,
      bootstrapValue,
      finalState,
      dispose() {
        tf.dispose([...ep.inputs, ...ep.actions, ...ep.retained, ...ep.rewards, ...ep.localRewards, ...ep.fbRatios, bootstrapValue, finalState]);
        if (adp) adp.dispose();
      },
    };
  } catch (err) {
    tf.dispose([...ep.inputs, ...ep.actions, ...ep.retained, ...ep.rewards, ...ep.localRewards, ...ep.fbRatios, state]);
    if (!ep.retained.includes(retained) && !retained.isDisposed) retained.dispose();
    if (prevCe && !prevCe.isDisposed) prevCe.dispose();
    if (adp) adp.dispose();
    throw err;
  }
}
