/**
 * The unit policy of the unit formulations (rl.credit 'counterfactual' / 'candidates'): the
 * Reinforcement-Net's per-pixel policy, read as a mask logit per pixel,
 *   l_i = log pi(mask | s)_i - log pi(retain | s)_i,
 * and a unit's probability of being masked as the logistic of its pixels' mean logit,
 *   P(mask u) = sigmoid(mean_{i in u} l_i).
 * The greedy policy masks a unit when that mean logit is > rl.greedyThreshold (default 0). Decisions are taken once, on the raw
 * image (one step: a unit, once masked, has nothing left to decide).
 */
import * as tf from '@tensorflow/tfjs';
import type { RlConfig } from '@mrlseg/types';
import { forwardPolicy, forwardSegmentation } from './networks';
import { PROB_EPS } from './loss';
import { candidateUnits, partitionUnits, patchUnits, superpixelPartition, type UnitMap } from './units';
import { assertImages, representState } from './environment';

/** Whether rl.credit is one of the unit formulations. */
export const isUnitCredit = (rl: Pick<RlConfig, 'credit'>): boolean => rl.credit === 'counterfactual' || rl.credit === 'candidates';

/**
 * What the unit policy reads: the raw images, or (a two-input Reinforcement-Net, rl.policyInput
 * 'image+probability') the images and the Segmentation-Net's probability on them, a constant for
 * the policy's gradient. The caller disposes the returned tensors.
 */
export function unitPolicyInput(policyNet: tf.LayersModel, segNet: tf.LayersModel, images: tf.Tensor4D): tf.Tensor4D[] {
  return unitsAndPolicyInput(policyNet, segNet, images, null).input;
}

/**
 * The unit maps of a batch (unless `rl` is null) and the policy's input ({@link unitPolicyInput}),
 * with the Segmentation-Net run on the raw images at most once: 'candidates' units and the
 * probability input read the same map. The caller disposes `input`.
 */
export function unitsAndPolicyInput(policyNet: tf.LayersModel, segNet: tf.LayersModel, images: tf.Tensor4D, rl: RlConfig | null): { units: UnitMap[]; input: tf.Tensor4D[] } {
  const inputs = policyNet.inputs.length;
  if (inputs !== 1 && inputs !== 2) throw new RangeError(`unitPolicyInput: policyNet must take 1 input (image) or 2 (image, probability), got ${inputs}`);
  const probability = inputs === 2 || rl?.credit === 'candidates' ? forwardSegmentation(segNet, images) : null;
  try {
    const units = rl ? unitMapsOf(segNet, images, rl, probability ?? undefined) : [];
    return { units, input: inputs === 2 ? [images.clone(), probability!.clone()] : [images.clone()] };
  } finally {
    probability?.dispose();
  }
}

/** Per-pixel mask logits l_i, B x H x W x 1 (differentiable in the policy's weights); `input` as {@link unitPolicyInput} makes it. */
export function maskLogits(policyNet: tf.LayersModel, input: tf.Tensor4D | tf.Tensor4D[]): tf.Tensor4D {
  return tf.tidy(() => {
    const { probs, value } = forwardPolicy(policyNet, input);
    value.dispose();
    const logP = tf.log(tf.clipByValue(probs, PROB_EPS, 1));
    return tf.sub(tf.slice(logP, [0, 0, 0, 0], [-1, -1, -1, 1]), tf.slice(logP, [0, 0, 0, 1], [-1, -1, -1, 1])) as tf.Tensor4D;
  });
}

/** Per image, the superpixel labels of rl.unitShape 'superpixel' (else undefined: square patches). */
function superpixelLabels(images: tf.Tensor4D, rl: Pick<RlConfig, 'unitShape' | 'unitSize' | 'superpixelCompactness'>): (k: number) => Int32Array | undefined {
  const [, h, w] = images.shape;
  const n = h * w;
  const pixels = rl.unitShape === 'superpixel' ? images.dataSync() : null;
  return (k) => (pixels ? superpixelPartition(pixels.subarray(k * n, (k + 1) * n), h, w, rl.unitSize, rl.superpixelCompactness) : undefined);
}

/** The unit maps without candidates: rl.unitSize square patches, or superpixels with rl.unitShape 'superpixel'. */
export function plainUnitMaps(images: tf.Tensor4D, rl: Pick<RlConfig, 'unitShape' | 'unitSize' | 'superpixelCompactness'>): UnitMap[] {
  const [b, h, w] = images.shape;
  const baseOf = superpixelLabels(images, rl);
  return Array.from({ length: b }, (_, k) => {
    const base = baseOf(k);
    return base ? partitionUnits(base) : patchUnits(h, w, rl.unitSize);
  });
}

/** The greedy policy's decisions from each unit's mean mask logit: masked when above rl.greedyThreshold (default 0). */
export function greedyDecisions(meanLogits: Float64Array[], rl: Pick<RlConfig, 'greedyThreshold'>): boolean[][] {
  const threshold = rl.greedyThreshold ?? 0;
  return meanLogits.map((l) => Array.from(l, (v) => v > threshold));
}

/**
 * The unit maps of a batch. 'candidates' segments the raw images with `segNet` (inference mode).
 * @param rawProbability - optional Segmentation-Net output on `images` (B x H x W x 1) when the caller has it.
 */
export function unitMapsOf(segNet: tf.LayersModel, images: tf.Tensor4D, rl: RlConfig, rawProbability?: tf.Tensor4D): UnitMap[] {
  if (rl.credit !== 'candidates') return plainUnitMaps(images, rl);
  const [b, h, w] = images.shape;
  const n = h * w;
  const baseOf = superpixelLabels(images, rl);
  const prob = rawProbability ?? forwardSegmentation(segNet, images);
  const data = prob.dataSync();
  if (prob !== rawProbability) prob.dispose();
  return Array.from({ length: b }, (_, k) => candidateUnits(data.subarray(k * n, (k + 1) * n), h, w, rl.unitSize, rl.candidateThreshold, rl.candidateMargin, baseOf(k)));
}

/** Mean mask logit per unit of each image (from a B x H x W x 1 logit map's values). */
export function unitLogits(logits: ArrayLike<number>, units: UnitMap[], pixels: number): Float64Array[] {
  return units.map((u, b) => {
    const sum = new Float64Array(u.count);
    for (let i = 0; i < pixels; i++) sum[u.ids[i]] += logits[b * pixels + i];
    for (let k = 0; k < u.count; k++) sum[k] /= u.sizes[k];
    return sum;
  });
}

/** Retained mask (1 kept, 0 masked), B x H x W x 1, of per-unit decisions (true = mask). */
export function retainedOfUnits(units: UnitMap[], masked: boolean[][], height: number, width: number): tf.Tensor4D {
  const n = height * width;
  const out = new Float32Array(units.length * n);
  units.forEach((u, b) => {
    for (let i = 0; i < n; i++) out[b * n + i] = masked[b][u.ids[i]] ? 0 : 1;
  });
  return tf.tensor4d(out, [units.length, height, width, 1]);
}

/** The greedy unit policy's decisions and the represented images it produces. */
export interface UnitGreedy {
  units: UnitMap[];
  /** Per image, per unit: masked? */
  masked: boolean[][];
  /** Retained mask, B x H x W x 1. */
  retained: tf.Tensor4D;
  /** s = image where retained, rl.maskValue where masked, B x H x W x 1. */
  state: tf.Tensor4D;
  /** Per image, per unit: the mean mask logit that the decision thresholds at rl.greedyThreshold. */
  logits: Float64Array[];
  dispose(): void;
}

/** Greedy decisions of the unit policy on raw images (no labels). */
export function unitGreedy(policyNet: tf.LayersModel, segNet: tf.LayersModel, images: tf.Tensor4D, rl: RlConfig): UnitGreedy {
  assertImages('unitGreedy', 'images', images);
  const [, h, w] = images.shape;
  const { units, input } = unitsAndPolicyInput(policyNet, segNet, images, rl);
  const logits = maskLogits(policyNet, input);
  tf.dispose(input);
  const values = logits.dataSync();
  logits.dispose();
  const meanLogits = unitLogits(values, units, h * w);
  const masked = greedyDecisions(meanLogits, rl);
  const retained = retainedOfUnits(units, masked, h, w);
  const state = representState(images, retained, rl.maskValue);
  return {
    units,
    masked,
    retained,
    state,
    logits: meanLogits,
    dispose() {
      tf.dispose([retained, state]);
    },
  };
}
