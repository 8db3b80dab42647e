/**
 * The trainer of the unit formulations (rl.credit 'counterfactual' / 'candidates'; issue 15,
 * docs/rl-formulations.md). One trainStep on a batch:
 *  1. unit maps (patches, or candidate structures of the Segmentation-Net's raw prediction + patches);
 *  2. each unit's action sampled from the unit policy (unit-policy.ts) mixed with rl.explore of
 *     uniform choice;
 *  3. counterfactual credit C_u per unit (counterfactual-credit.ts);
 *  4. rl.policySteps optimizer steps (default one) on a weighted logistic loss that moves each unit's pixels' mask logits
 *     towards "mask" where C_u > 0 and "retain" where C_u < 0, with weight min(|C_u|, rl.creditCap)
 *     shared by the unit's pixels (each unit counts once, whatever its size):
 *       L = sum_u w_u mean_{i in u} BCE(pi(mask)_i, [C_u > 0]) / sum_u w_u;
 *     this is the "counterfactual labels" policy of the prototype reported in issue 15 (masked 0 % of
 *     lesions, where every policy-gradient variant collapsed), applied to units aligned with what
 *     can be a distractor;
 *  5. (rl.finetuneSeg) one Segmentation-Net step on the greedy policy's represented images.
 * The value head, the reward filter w and the entropy bonus are not used by these formulations.
 */
import * as tf from '@tensorflow/tfjs';
import type { RlConfig } from '@mrlseg/types';
import { createRewardFilter } from '@mrlseg/rewards';
import { forwardPolicy, forwardSegmentation, policyVariables, trainableVariables } from './networks';
import { PROB_EPS } from './loss';
import { computeCommitteeCredit } from './committee-credit';
import { greedyDecisions, isUnitCredit, maskLogits, unitGreedy, unitLogits, unitsAndPolicyInput } from './unit-policy';
import { zeroTimings } from './rollout';
import { assertImages } from './environment';
import type { A2CTrainer, A2CTrainerOptions, TrainStepResult } from './trainer';
import type { UnitMap } from './units';

/** A small seeded generator (mulberry32) for the unit actions. */
function rngOf(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Per image, each unit's label (true = "mask") and loss weight, with the batch's total weight. */
export interface UnitLabels {
  mask: boolean[][];
  weight: Float64Array[];
  totalWeight: number;
}

/** How credits become labels and weights ({@link unitLabels}); {@link labelOptionsOf} reads them from rl. */
export interface LabelOptions {
  /** rl.creditCap: the largest weight of one unit (the credit's units). */
  cap: number;
  /** rl.creditMargin (default 0). */
  margin?: number;
  /** rl.balanceLabels (default false). */
  balance?: boolean;
  /** rl.creditDeadZone (default 0: off). */
  deadZone?: number;
}

/** The label options of an rl config. */
export function labelOptionsOf(rl: Pick<RlConfig, 'creditCap' | 'creditMargin' | 'balanceLabels' | 'creditDeadZone'>): LabelOptions {
  return { cap: rl.creditCap, margin: rl.creditMargin, balance: rl.balanceLabels, deadZone: rl.creditDeadZone };
}

/**
 * Each unit's label and weight in the logistic loss, from its credit; see the file comment. With a
 * margin tau (rl.creditMargin) a unit is labelled "mask" only when C_u > tau and weighs
 * min(|C_u - tau|, cap): masking must beat keeping by tau, the price of the risk that a masked image
 * is an input the Segmentation-Net has not seen. With a dead zone d (rl.creditDeadZone) a unit whose
 * |C_u - tau| is below d weighs 0: neither label is taught where the credit is too small to tell
 * masking from keeping (on the known-answer data most plain-background units, whose labels the
 * policy cannot predict: docs/results.md, section 4.8). With `balance` (rl.balanceLabels) the "mask"
 * units and the "keep" units each carry half of the total weight: a few lesion units with large
 * |C_u| otherwise outweigh every distractor unit of the batch (class imbalance, in the loss).
 * `totalWeight` is the sum of the unscaled weights (balancing moves weight between the labels).
 */
export function unitLabels(credit: Float64Array[], o: LabelOptions, fn = 'unitLabels'): UnitLabels {
  const margin = o.margin ?? 0;
  const deadZone = o.deadZone ?? 0;
  if (!(o.cap > 0)) throw new RangeError(`${fn}: cap must be > 0, got ${o.cap}`);
  if (!(margin >= 0)) throw new RangeError(`${fn}: margin must be >= 0, got ${margin}`);
  if (!(deadZone >= 0)) throw new RangeError(`${fn}: deadZone must be >= 0, got ${deadZone}`);
  const mask = credit.map((c) => Array.from(c, (x) => x > margin));
  const weight = credit.map((c) =>
    Float64Array.from(c, (x) => {
      const d = Math.abs(x - margin);
      return d < deadZone ? 0 : Math.min(d, o.cap);
    }),
  );
  let total = 0;
  let positive = 0;
  weight.forEach((wu, b) =>
    wu.forEach((x, k) => {
      total += x;
      if (mask[b][k]) positive += x;
    }),
  );
  const negative = total - positive;
  if (o.balance && positive > 0 && negative > 0) {
    const scaleMask = total / (2 * positive);
    const scaleKeep = total / (2 * negative);
    weight.forEach((wu, b) => wu.forEach((x, k) => (wu[k] = x * (mask[b][k] ? scaleMask : scaleKeep))));
  }
  return { mask, weight, totalWeight: total };
}

/**
 * Target and weight maps (B x H x W x 1) of the per-pixel logistic loss: each pixel carries its
 * unit's label and its unit's weight / |u| ({@link unitLabels}).
 */
export function creditTargets(units: UnitMap[], credit: Float64Array[], o: LabelOptions, height: number, width: number): { target: tf.Tensor4D; weight: tf.Tensor4D; totalWeight: number } {
  return pixelTargets(units, unitLabels(credit, o, 'creditTargets'), height, width);
}

function pixelTargets(units: UnitMap[], labels: UnitLabels, height: number, width: number): { target: tf.Tensor4D; weight: tf.Tensor4D; totalWeight: number } {
  const n = height * width;
  const target = new Float32Array(units.length * n);
  const weight = new Float32Array(units.length * n);
  units.forEach((u, b) => {
    for (let i = 0; i < n; i++) {
      const id = u.ids[i];
      target[b * n + i] = labels.mask[b][id] ? 1 : 0;
      weight[b * n + i] = labels.weight[b][id] / u.sizes[id];
    }
  });
  return { target: tf.tensor4d(target, [units.length, height, width, 1]), weight: tf.tensor4d(weight, [units.length, height, width, 1]), totalWeight: labels.totalWeight };
}

/** The weighted logistic loss of step 4 (scalar), differentiable in the policy's weights. */
export function unitLogisticLoss(policyNet: tf.LayersModel, images: tf.Tensor4D | tf.Tensor4D[], target: tf.Tensor4D, weight: tf.Tensor4D, totalWeight: number): tf.Scalar {
  return tf.tidy(() => {
    const { probs, value } = forwardPolicy(policyNet, images);
    value.dispose();
    const logP = tf.log(tf.clipByValue(probs, PROB_EPS, 1));
    const maskLog = tf.slice(logP, [0, 0, 0, 0], [-1, -1, -1, 1]);
    const retainLog = tf.slice(logP, [0, 0, 0, 1], [-1, -1, -1, 1]);
    const bce = tf.neg(tf.add(tf.mul(target, maskLog), tf.mul(tf.sub(1, target), retainLog)));
    return tf.div(tf.sum(tf.mul(weight, bce)), Math.max(totalWeight, 1e-12)) as tf.Scalar;
  });
}

/**
 * The logistic loss on the units' mean mask logits (rl.unitLoss 'unit'), scalar, differentiable in
 * the policy's weights:
 *   L = sum_u w_u softplus(-(2 t_u - 1) lbar_u) / sum_u w_u,   lbar_u = mean_{i in u} l_i,
 * i.e. the negative log-likelihood of each unit's label under the unit policy P(mask u) =
 * sigmoid(lbar_u) that samples and decides, with t_u and w_u from {@link unitLabels}. The per-pixel
 * loss of {@link unitLogisticLoss} lets a unit's pixels pull apart while their mean, the decision,
 * stays on the wrong side.
 */
export function unitMeanLogisticLoss(policyNet: tf.LayersModel, input: tf.Tensor4D | tf.Tensor4D[], units: UnitMap[], labels: UnitLabels): tf.Scalar {
  const [b, h, w] = (Array.isArray(input) ? input[0] : input).shape;
  const n = h * w;
  if (units.length !== b || labels.mask.length !== b) {
    throw new RangeError(`unitMeanLogisticLoss: units and labels must hold one entry per image (${b}), got ${units.length} and ${labels.mask.length}`);
  }
  const width = Math.max(...units.map((u) => u.count));
  // Averaging matrix per image: A[b, i, u] = 1 / |u| where pixel i belongs to unit u.
  const avg = new Float32Array(b * n * width);
  const sign = new Float32Array(b * width);
  const wu = new Float32Array(b * width);
  units.forEach((u, k) => {
    for (let i = 0; i < n; i++) avg[(k * n + i) * width + u.ids[i]] = 1 / u.sizes[u.ids[i]];
    for (let q = 0; q < u.count; q++) {
      sign[k * width + q] = labels.mask[k][q] ? 1 : -1;
      wu[k * width + q] = labels.weight[k][q];
    }
  });
  return tf.tidy(() => {
    const l = tf.reshape(maskLogits(policyNet, input), [b, 1, n]);
    const mean = tf.reshape(tf.matMul(l, tf.tensor3d(avg, [b, n, width])), [b, width]);
    const nll = tf.softplus(tf.neg(tf.mul(tf.tensor2d(sign, [b, width]), mean)));
    return tf.div(tf.sum(tf.mul(tf.tensor2d(wu, [b, width]), nll)), Math.max(labels.totalWeight, 1e-12)) as tf.Scalar;
  });
}

/** Creates the unit-formulation trainer (same interface as the A2C trainer). */
export function createUnitTrainer(o: A2CTrainerOptions): A2CTrainer {
  const fn = 'createUnitTrainer';
  const { policyNet, segNet, rl, optimizer } = o;
  // The network(s) that credit (and veto) each unit: segNet, the caller's frozen pre-trained copy, or a committee.
  const creditNets: readonly tf.LayersModel[] = o.creditSegNet === undefined ? [segNet] : Array.isArray(o.creditSegNet) ? o.creditSegNet : [o.creditSegNet as tf.LayersModel];
  if (creditNets.length === 0 || creditNets.some((n) => !(n instanceof tf.LayersModel))) {
    throw new TypeError(`${fn}: creditSegNet must be a tf.LayersModel or a non-empty array of them (or left out)`);
  }
  if (!isUnitCredit(rl)) throw new RangeError(`${fn}: rl.credit must be 'counterfactual' or 'candidates', got '${rl.credit}'`);
  const wantInputs = rl.policyInput === 'image+probability' ? 2 : 1;
  if (policyNet.inputs.length !== wantInputs) {
    throw new RangeError(`${fn}: policyNet takes ${policyNet.inputs.length} input(s) but rl.policyInput '${rl.policyInput ?? 'image'}' needs ${wantInputs} (build it with probabilityInput ${wantInputs === 2})`);
  }
  if (rl.finetuneSeg && !o.segOptimizer) throw new TypeError(`${fn}: rl.finetuneSeg is true, so segOptimizer (a tf.Optimizer) is required; or set rl.finetuneSeg = false`);
  // rl.policyTrain: the whole Reinforcement-Net, or its heads only.
  const agentVars = policyVariables(policyNet, rl, fn);
  const rewardFilter = createRewardFilter(rl.rewardFilterSize, undefined);
  if (o.rewardFilterInit) rewardFilter.assign(o.rewardFilterInit);
  const segLoss = o.segLoss ?? ((y: tf.Tensor4D, p: tf.Tensor4D) => tf.tidy(() => tf.mean(tf.losses.sigmoidCrossEntropy(y, p)) as tf.Scalar));
  const rng = rngOf(((o.seed ?? 0) * 7919 + 17) >>> 0);
  let disposed = false;
  /** The policy's loss (rl.unitLoss) as a closure for the gradient, and the tensors to dispose after it. */
  const lossOf = (input: tf.Tensor4D[], units: UnitMap[], labels: UnitLabels): { f: () => tf.Scalar; made: tf.Tensor[] } => {
    if (rl.unitLoss === 'unit') return { f: () => unitMeanLogisticLoss(policyNet, input, units, labels), made: [] };
    const [, h, w] = input[0].shape;
    const { target, weight, totalWeight } = pixelTargets(units, labels, h, w);
    return { f: () => unitLogisticLoss(policyNet, input, target, weight, totalWeight), made: [target, weight] };
  };
  // rl.creditContext: the other units' actions a unit's credit is taken against. 'sampled': as
  // sampled; 'raw': all kept (the value of masking the unit alone); 'greedy': the greedy policy's
  // decisions (unit mean logit above rl.greedyThreshold, as unitGreedy decides).
  const creditState = (units: UnitMap[], masked: boolean[][], ul: Float64Array[]): boolean[][] => {
    if (rl.creditContext === 'raw') return units.map((u) => new Array<boolean>(u.count).fill(false));
    if (rl.creditContext === 'greedy') return greedyDecisions(ul, rl);
    return masked;
  };

  function trainStep(images: tf.Tensor4D, labels: tf.Tensor4D): TrainStepResult {
    if (disposed) throw new Error('trainStep: the trainer was disposed');
    assertImages('trainStep', 'images', images);
    const start = performance.now();
    const timings = zeroTimings();
    const [, h, w] = images.shape;
    let t0 = performance.now();
    const { units, input } = unitsAndPolicyInput(policyNet, segNet, images, rl);
    timings.segForwardMs += performance.now() - t0;
    let loss = 0;
    let entropySum = 0;
    let unitCount = 0;
    let maskedPixels = 0;
    let creditSum = 0;
    let creditSq = 0;
    let maskLabels = 0;
    try {
      t0 = performance.now();
      const logits = maskLogits(policyNet, input);
      const lv = logits.dataSync();
      logits.dispose();
      const ul = unitLogits(lv, units, h * w);
      const masked = units.map((u, b) =>
        Array.from(ul[b], (l, k) => {
          const p = sigmoid(l);
          entropySum -= p > 0 ? p * Math.log(p) : 0;
          entropySum -= p < 1 ? (1 - p) * Math.log(1 - p) : 0;
          unitCount++;
          const pm = (1 - rl.explore) * p + rl.explore * 0.5;
          const m = rng() < pm;
          if (m) maskedPixels += u.sizes[k];
          return m;
        }),
      );
      timings.policyForwardMs += performance.now() - t0;
      t0 = performance.now();
      const credit = computeCommitteeCredit(creditNets, images, labels, units, creditState(units, masked, ul), rl);
      timings.rewardMs += performance.now() - t0;
      t0 = performance.now();
      for (const c of credit) {
        for (const x of c) {
          creditSum += x;
          creditSq += x * x;
        }
      }
      const unitLabel = unitLabels(credit, labelOptionsOf(rl));
      for (const m of unitLabel.mask) for (const x of m) if (x) maskLabels++;
      if (unitLabel.totalWeight > 0) {
        const { f, made } = lossOf(input, units, unitLabel);
        try {
          // rl.policySteps steps on this batch's labels; the reported loss is the first step's (before any update).
          for (let step = 0; step < (rl.policySteps ?? 1); step++) {
            const { value, grads } = optimizer.computeGradients(f, agentVars);
            optimizer.applyGradients(grads);
            if (step === 0) loss = value.dataSync()[0];
            tf.dispose([value, grads]);
          }
        } finally {
          tf.dispose(made);
        }
      }
      timings.backwardMs += performance.now() - t0;
    } finally {
      tf.dispose(input);
    }
    const creditMean = creditSum / Math.max(1, unitCount);
    const creditStd = Math.sqrt(Math.max(0, creditSq / Math.max(1, unitCount) - creditMean * creditMean));

    let segL: number | null = null;
    if (rl.finetuneSeg) {
      t0 = performance.now();
      const g = unitGreedy(policyNet, segNet, images, rl);
      try {
        const l = o.segOptimizer!.minimize(() => segLoss(labels, forwardSegmentation(segNet, g.state, rl.finetuneBatchNorm === 'batch')), true, trainableVariables(segNet))!;
        segL = l.dataSync()[0];
        l.dispose();
      } finally {
        g.dispose();
      }
      timings.segFinetuneMs += performance.now() - t0;
    }
    const b = images.shape[0];
    return {
      loss,
      policyLoss: loss,
      valueLoss: 0,
      entropy: entropySum / Math.max(1, unitCount),
      meanReward: creditMean,
      meanLocalReward: creditMean,
      episodeReward: creditSum / b,
      fbRatio: NaN,
      maskedFraction: maskedPixels / (b * h * w),
      segLoss: segL,
      advantageMean: creditMean,
      advantageStd: creditStd,
      maskLabelShare: maskLabels / Math.max(1, unitCount),
      timings: { ...timings, totalMs: performance.now() - start },
    };
  }

  function policyGradient(images: tf.Tensor4D, labels: tf.Tensor4D): tf.Tensor[] {
    const [, h, w] = images.shape;
    const { units, input } = unitsAndPolicyInput(policyNet, segNet, images, rl);
    try {
      const logits = maskLogits(policyNet, input);
      const ul = unitLogits(logits.dataSync(), units, h * w);
      logits.dispose();
      const masked = ul.map((l) => Array.from(l, (v) => rng() < (1 - rl.explore) * sigmoid(v) + rl.explore * 0.5));
      const credit = computeCommitteeCredit(creditNets, images, labels, units, creditState(units, masked, ul), rl);
      const { f, made } = lossOf(input, units, unitLabels(credit, labelOptionsOf(rl)));
      try {
        const vars = agentVars;
        const { value, grads } = tf.variableGrads(f, vars);
        value.dispose();
        return vars.map((v) => grads[v.name]);
      } finally {
        tf.dispose(made);
      }
    } finally {
      tf.dispose(input);
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
