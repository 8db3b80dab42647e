/**
 * The Reinforcement-Net (paper Section III-A, Fig. 3; METHOD-NOTES "The loop" step 2).
 * Input B x S x S x 1: the current state image s(t). Feature extractor: the Segmentation-Net's
 * stem + three conv blocks + patch/position embedding + ONE transformer layer, with identical
 * layer names and shapes so {@link initFromSegmentationNet} can copy pre-trained weights.
 * Two heads of three convolutions each on the 1/16 feature map, brought back to full resolution:
 * x8 nearest upsampling, concat with the stem's 1/2 features, 3x3 conv + ReLU; x2 upsampling,
 * concat with the input image, 3x3 conv + ReLU; 1x1 conv. Outputs:
 * - `policy`: B x S x S x 2, per-pixel softmax over the actions {0: mask, 1: retain};
 * - `value`: B x S x S x 1, the state value V(s) per pixel (linear).
 * With `probabilityInput` (rl.policyInput 'image+probability', issue 15) the network has a second
 * input, `probability` (B x S x S x 1: the Segmentation-Net's output on the raw image), which both
 * heads concatenate beside the image at full resolution. The encoder still reads the image alone,
 * so {@link initFromSegmentationNet} copies the same layers.
 */
import * as tf from '@tensorflow/tfjs';
import type { SegNetSizes } from '@mrlseg/types';
import { apply, checkInputSize, concat, conv, SeedSequence, upsample, type ST } from './blocks';
import { hybridEncoder, validateSizes, type BuildOptions } from './segmentation-net';
import { modelSpecOf, rememberSpec } from './model-spec';

/** Action indices of the policy's channels. */
export const ACTION_MASK = 0;
export const ACTION_RETAIN = 1;

export interface RlBuildOptions extends BuildOptions {
  /** Channels of the heads' 3x3 convs (default: sizes.channels[0]). */
  headChannels?: number;
  /**
   * Initial logit of `retain` over `mask` (default 2). The policy's last 1x1 conv starts with its
   * random kernel scaled by 0.01 (gradients still reach the layers below) and bias
   * [0, retainBias], so an untrained agent's deterministic policy retains
   * every pixel (the identity representation: RL starts from what the pre-trained
   * Segmentation-Net sees) and its sampled policy masks 1 / (1 + e^retainBias) of the pixels per
   * step (12 % at 2). With a random last layer the demo's agents often began by masking most of
   * the image, lesions included, and never recovered in a short RL budget. 0 gives a near-uniform
   * policy; null keeps the plain random initialisation of the last layer.
   */
  retainBias?: number | null;
  /** A second input, `probability` (B x S x S x 1), concatenated in both heads beside the image (default false). */
  probabilityInput?: boolean;
}

function head(features: ST, stem: ST, image: ST[], width: number, out: number, activation: 'softmax' | 'linear', prefix: string, seeds: SeedSequence): ST {
  let x = upsample(features, 8, `${prefix}_up8`);
  x = concat([x, stem], `${prefix}_concat1`);
  x = conv(x, width, `${prefix}_conv1`, seeds, { activation: 'relu' });
  x = upsample(x, 2, `${prefix}_up2`);
  x = concat([x, ...image], `${prefix}_concat2`);
  x = conv(x, width, `${prefix}_conv2`, seeds, { activation: 'relu' });
  return conv(x, out, prefix, seeds, { kernel: 1, activation });
}

/** Builds the Reinforcement-Net (see the file comment); outputs [policy, value]. */
export function buildReinforcementNet(sizes: SegNetSizes, opts: RlBuildOptions): tf.LayersModel {
  validateSizes('buildReinforcementNet', sizes);
  checkInputSize('buildReinforcementNet', opts.inputSize, 16);
  const headChannels = opts.headChannels ?? sizes.channels[0];
  if (!Number.isInteger(headChannels) || headChannels <= 0) throw new Error(`buildReinforcementNet: headChannels must be a positive integer, got ${headChannels}`);
  const seed = opts.seed ?? 0;
  const seeds = new SeedSequence(seed);
  const input = tf.input({ shape: [opts.inputSize, opts.inputSize, 1], name: 'image' });
  const probability = opts.probabilityInput ? tf.input({ shape: [opts.inputSize, opts.inputSize, 1], name: 'probability' }) : null;
  const full = probability ? [input, probability] : [input];
  const { skips, tokens, grid } = hybridEncoder(input, sizes, 1, seeds);
  const features = apply(tf.layers.reshape({ targetShape: [grid, grid, sizes.hidden], name: 'to_map' }), tokens);
  // Head seeds come from a separate sequence so the heads do not depend on the encoder's layer count.
  const headSeeds = new SeedSequence(seed + 7919);
  const policy = head(features, skips[0], full, headChannels, 2, 'softmax', 'policy', headSeeds);
  const value = head(features, skips[0], full, headChannels, 1, 'linear', 'value', headSeeds);
  const model = tf.model({ inputs: probability ? full : input, outputs: [policy, value], name: 'reinforcement_net' });
  const retainBias = opts.retainBias === undefined ? 2 : opts.retainBias;
  if (retainBias !== null) {
    if (!Number.isFinite(retainBias)) throw new Error(`buildReinforcementNet: retainBias must be a finite number or null, got ${retainBias}`);
    const last = model.getLayer('policy');
    const [kernel] = last.getWeights();
    const init = [tf.mul(kernel, 0.01), tf.tensor1d([0, retainBias])];
    last.setWeights(init);
    tf.dispose(init);
  }
  rememberSpec(model, { kind: 'rl-net', sizes: structuredClone(sizes), inputSize: opts.inputSize, seed, headChannels, ...(opts.probabilityInput ? { probabilityInput: true } : {}) });
  return model;
}

/**
 * Copies every weight of `segNet` whose layer name and shape match a layer of `rlNet` (the stem,
 * the three conv blocks, the patch and position embeddings and transformer layer 0) into
 * `rlNet`. The heads are left as initialised. Throws when nothing matches or a matching
 * layer's weight shapes differ (e.g. a different input size or hidden size).
 * @returns the names of the layers copied.
 */
export function initFromSegmentationNet(rlNet: tf.LayersModel, segNet: tf.LayersModel): string[] {
  const rlSpec = modelSpecOf(rlNet);
  const segSpec = modelSpecOf(segNet);
  if (rlSpec && rlSpec.kind !== 'rl-net') throw new Error(`initFromSegmentationNet: rlNet is a '${rlSpec.kind}', expected an 'rl-net'`);
  if (segSpec && segSpec.kind !== 'seg-net') throw new Error(`initFromSegmentationNet: segNet is a '${segSpec.kind}', expected a 'seg-net'`);
  const copied: string[] = [];
  for (const layer of rlNet.layers) {
    if (layer.weights.length === 0) continue;
    let src: tf.layers.Layer;
    try {
      src = segNet.getLayer(layer.name);
    } catch {
      continue;
    }
    const w = src.getWeights();
    const dst = layer.getWeights();
    if (w.length !== dst.length || w.some((t, i) => t.shape.join('x') !== dst[i].shape.join('x'))) {
      throw new Error(
        `initFromSegmentationNet: layer '${layer.name}' has weights [${dst.map((t) => t.shape.join('x')).join(', ')}] in rlNet but [${w.map((t) => t.shape.join('x')).join(', ')}] in segNet (same sizes and inputSize needed)`,
      );
    }
    layer.setWeights(w);
    copied.push(layer.name);
  }
  if (copied.length === 0) throw new Error('initFromSegmentationNet: no layer of segNet matches a layer of rlNet by name');
  return copied;
}
