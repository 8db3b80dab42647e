/**
 * The synchronous pixel-wise A2C trainer (METHOD-NOTES "Pixel-wise A3C": the batched synchronous
 * update is the same estimator as A3C's asynchronous one). One trainStep = one episode on a batch
 * of slices, one optimizer step on the Reinforcement-Net and the reward filter w, then (optional,
 * rl.finetuneSeg) one step of the Segmentation-Net on the represented images s(T).
 */
import * as tf from '@tensorflow/tfjs';
import type { RlConfig } from '@mrlseg/types';
import { computePixelCrossEntropy, createRewardFilter } from '@mrlseg/rewards';
import { forwardSegmentation, policyVariables, trainableVariables } from './networks';
import { collectEpisode, zeroTimings, type PhaseTimings } from './rollout';
import { computeActorCriticLoss } from './loss';
import { representGreedy } from './inference';

/** Loss of the Segmentation-Net fine-tuning: (labels, probabilities) -> scalar. */
export type SegLossFn = (yTrue: tf.Tensor4D, yPred: tf.Tensor4D) => tf.Scalar;

export interface A2CTrainerOptions {
  /** Reinforcement-Net: B x H x W x C -> [policy B x H x W x 2, value B x H x W x 1]. */
  policyNet: tf.LayersModel;
  /** Segmentation-Net: B x H x W x 1 -> probability B x H x W x 1. */
  segNet: tf.LayersModel;
  rl: RlConfig;
  /** Optimiser of the Reinforcement-Net and w (reference: Adam 1e-3 with poly decay). */
  optimizer: tf.Optimizer;
  /** Fine-tuning loss; default: mean pixel binary cross-entropy (Eq. 4). */
  segLoss?: SegLossFn;
  /**
   * 'counterfactual'/'candidates': the Segmentation-Net the credit is computed with (rl.creditNet
   * 'pretrained': a frozen copy of the pre-trained segNet, owned by the caller), or a committee of
   * them whose credits are averaged (rl.creditNet 'snapshots': networks from along pre-training,
   * computeCommitteeCredit); default segNet.
   */
  creditSegNet?: tf.LayersModel | readonly tf.LayersModel[];
  /** Optimiser of the Segmentation-Net; required when rl.finetuneSeg is true. */
  segOptimizer?: tf.Optimizer;
  /** Seed of the action sampling stream (default 0). */
  seed?: number;
  /** Initial values of w ([k, k, 1, 1], k = rl.rewardFilterSize), e.g. from a checkpoint; default identity. */
  rewardFilterInit?: tf.Tensor4D;
}

export interface TrainStepResult {
  /** Total loss of the Reinforcement-Net. */
  loss: number;
  policyLoss: number;
  valueLoss: number;
  /** Mean per-agent policy entropy, nats. */
  entropy: number;
  /** Mean of r*(t) over steps, slices and pixels (nats per pixel per step). */
  meanReward: number;
  /** Mean of the local reward r(t), Eq. (5), over steps, slices and pixels. */
  meanLocalReward: number;
  /** Undiscounted episode return sum_t mean r*(t), averaged over the batch. */
  episodeReward: number;
  /** Mean x = N_front / N_back after the last step (Eq. 3). */
  fbRatio: number;
  /** Fraction of pixels masked after the last step. */
  maskedFraction: number;
  /** Segmentation-Net fine-tuning loss, or null when fine-tuning is off. */
  segLoss: number | null;
  /** Mean and standard deviation of the advantages (A2C: R - V before normalisation; unit formulations: the credit C_u), nats. */
  advantageMean?: number;
  advantageStd?: number;
  /**
   * Unit formulations only: the share of the batch's units whose label (credit above rl.creditMargin)
   * is 'mask', 0..1. It separates "no unit is worth masking" from "the policy does not learn its
   * labels" when the greedy policy masks nothing (issue 15).
   */
  maskLabelShare?: number;
  /** Phase times in ms (meaningful on synchronous backends: cpu, wasm). */
  timings: PhaseTimings & { totalMs: number };
}

export interface A2CTrainer {
  /** The learned reward-map filter w, [k, k, 1, 1] (owned by the trainer). */
  readonly rewardFilter: tf.Variable<tf.Rank.R4>;
  /** One episode and one update on a batch: images and labels B x H x W x 1. */
  trainStep(images: tf.Tensor4D, labels: tf.Tensor4D): TrainStepResult;
  /**
   * The gradient of the policy's loss on a batch (one sampled episode), without updating anything:
   * one tensor per trainable weight of the Reinforcement-Net (the caller disposes them). For the
   * signal-to-noise instrument (agent-instruments.ts in @mrlseg/experiments).
   */
  policyGradient(images: tf.Tensor4D, labels: tf.Tensor4D): tf.Tensor[];
  /** Disposes what the trainer owns (w); the networks and optimisers stay the caller's. */
  dispose(): void;
}

/** Mean pixel binary cross-entropy (Eq. 4), the default fine-tuning loss. */
export const meanPixelCrossEntropy: SegLossFn = (yTrue, yPred) => tf.tidy(() => tf.mean(computePixelCrossEntropy(yPred, yTrue)) as tf.Scalar);

/** tf.Optimizer's Symbol.hasInstance reads properties of its operand, so guard null first. */
const isOptimizer = (x: unknown): x is tf.Optimizer => x != null && typeof x === 'object' && x instanceof tf.Optimizer;

/** Creates the synchronous A2C trainer. Validates the config and networks up front. */
export function createA2CTrainer(o: A2CTrainerOptions): A2CTrainer {
  const fn = 'createA2CTrainer';
  if (!o || typeof o !== 'object') throw new TypeError(`${fn}: options {policyNet, segNet, rl, optimizer} are required`);
  const { policyNet, segNet, rl, optimizer } = o;
  if (!(policyNet instanceof tf.LayersModel)) throw new TypeError(`${fn}: policyNet must be a tf.LayersModel`);
  if (!(segNet instanceof tf.LayersModel)) throw new TypeError(`${fn}: segNet must be a tf.LayersModel`);
  if (!isOptimizer(optimizer)) throw new TypeError(`${fn}: optimizer must be a tf.Optimizer`);
  if (!rl || typeof rl !== 'object') throw new TypeError(`${fn}: rl (RlConfig from @mrlseg/types) is required`);
  if (rl.workers !== 1) {
    throw new RangeError(
      `${fn}: rl.workers = ${rl.workers}: asynchronous workers are not available in one JavaScript thread; ` +
        'use rl.workers = 1 (synchronous A2C, the same estimator)',
    );
  }
  if (rl.finetuneSeg && !isOptimizer(o.segOptimizer)) {
    throw new TypeError(`${fn}: rl.finetuneSeg is true, so segOptimizer (a tf.Optimizer) is required; or set rl.finetuneSeg = false`);
  }
  if (policyNet.inputs.length !== 1 || rl.policyInput === 'image+probability') {
    throw new RangeError(`${fn}: the A2C formulations ('pixel', 'patch') read the state image alone; rl.policyInput 'image+probability' and two-input Reinforcement-Nets work with rl.credit 'counterfactual' or 'candidates'`);
  }
  const inChannels = policyNet.inputs[0]?.shape[3];
  const wantChannels = rl.maskHistory ? 2 : 1;
  if (inChannels != null && inChannels !== wantChannels) {
    throw new RangeError(`${fn}: policyNet takes ${inChannels} input channel(s) but rl.maskHistory = ${rl.maskHistory} needs ${wantChannels}`);
  }
  // rl.policyTrain: the whole Reinforcement-Net, or its heads only.
  const agentVars = policyVariables(policyNet, rl, fn);
  const rewardFilter = createRewardFilter(rl.rewardFilterSize, undefined);
  if (o.rewardFilterInit) {
    const s = o.rewardFilterInit.shape;
    if (s.length !== 4 || s[0] !== rl.rewardFilterSize || s[1] !== rl.rewardFilterSize || s[2] !== 1 || s[3] !== 1) {
      rewardFilter.dispose();
      throw new RangeError(`${fn}: rewardFilterInit must have shape [${rl.rewardFilterSize}, ${rl.rewardFilterSize}, 1, 1], got [${s.join(', ')}]`);
    }
    rewardFilter.assign(o.rewardFilterInit);
  }
  const segLoss = o.segLoss ?? meanPixelCrossEntropy;
  let seed = (o.seed ?? 0) * 7919;
  let disposed = false;

  function trainStep(images: tf.Tensor4D, labels: tf.Tensor4D): TrainStepResult {
    if (disposed) throw new Error('trainStep: the trainer was disposed');
    const start = performance.now();
    const timings = zeroTimings();
    const episode = collectEpisode({ policyNet, segNet, images, labels, rl, mode: 'sample', seed, timings });
    seed += rl.episodeLength;
    try {
      let t0 = performance.now();
      const vars = [...agentVars, rewardFilter];
      const parts: tf.Scalar[] = [];
      const { value, grads } = optimizer.computeGradients(() => {
        const l = computeActorCriticLoss(policyNet, episode, rewardFilter, rl);
        parts.push(tf.keep(l.policyLoss), tf.keep(l.valueLoss), tf.keep(l.entropy), tf.keep(l.advantageMean), tf.keep(l.advantageStd));
        return l.loss;
      }, vars);
      optimizer.applyGradients(grads);
      tf.dispose(grads);
      timings.backwardMs += performance.now() - t0;

      let segLossValue: tf.Scalar | null = null;
      if (rl.finetuneSeg) {
        t0 = performance.now();
        const segVars = trainableVariables(segNet);
        // s(T) of the greedy policy after this update (what inference shows the Segmentation-Net), or
        // of the sampled training episode.
        const state = rl.finetuneOn === 'greedy' ? representGreedy(policyNet, images, rl, segNet) : episode.finalState;
        try {
          segLossValue = o.segOptimizer!.minimize(() => segLoss(labels, forwardSegmentation(segNet, state, rl.finetuneBatchNorm === 'batch')), true, segVars);
        } finally {
          if (state !== episode.finalState) state.dispose();
        }
        timings.segFinetuneMs += performance.now() - t0;
      }

      const stats = tf.tidy(() => {
        const T = episode.rewards.length;
        const rewards = tf.stack(episode.rewards);
        return tf.stack([
          tf.mean(rewards),
          tf.mean(tf.stack(episode.localRewards)),
          tf.div(tf.sum(tf.mean(rewards, [2, 3, 4])), images.shape[0]),
          tf.mean(episode.fbRatios[T - 1]),
          tf.sub(1, tf.mean(episode.retained[T - 1])),
        ]);
      });
      const s = stats.dataSync();
      const [loss, policyLoss, valueLoss, entropy, advantageMean, advantageStd] = [value, ...parts].map((t) => t.dataSync()[0]);
      const segL = segLossValue ? segLossValue.dataSync()[0] : null;
      tf.dispose([stats, value, ...parts]);
      if (segLossValue) segLossValue.dispose();
      return {
        loss,
        policyLoss,
        valueLoss,
        entropy,
        meanReward: s[0],
        meanLocalReward: s[1],
        episodeReward: s[2],
        fbRatio: s[3],
        maskedFraction: s[4],
        segLoss: segL,
        advantageMean,
        advantageStd,
        timings: { ...timings, totalMs: performance.now() - start },
      };
    } finally {
      episode.dispose();
    }
  }

  function policyGradient(images: tf.Tensor4D, labels: tf.Tensor4D): tf.Tensor[] {
    const episode = collectEpisode({ policyNet, segNet, images, labels, rl, mode: 'sample', seed: seed + 104729 });
    try {
      const vars = agentVars;
      const { value, grads } = tf.variableGrads(() => computeActorCriticLoss(policyNet, episode, rewardFilter, rl).policyLoss, vars);
      value.dispose();
      return vars.map((v) => grads[v.name]);
    } finally {
      episode.dispose();
    }
  }

  return {
    rewardFilter,
    trainStep,
    policyGradient,
    dispose() {
      if (!disposed) rewardFilter.dispose();
      disposed = true;
    },
  };
}
