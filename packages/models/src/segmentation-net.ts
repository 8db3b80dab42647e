/**
 * The Segmentation-Net (paper Section III-D, Fig. 4): a TransUNet-style hybrid CNN-transformer
 * (METHOD-NOTES "Segmentation-Net"). Input B x S x S x 1 (NHWC, grey in [0, 1]), S a multiple
 * of 16; output B x S x S x 1 lesion probability (sigmoid).
 *
 * Encoder: stem (two conv-BN-ReLU, first strided) -> 1/2, skip 1; blocks enc1..enc3 (the same,
 * each halving) -> 1/4 (skip 2), 1/8 (skip 3), 1/16. Patch embedding: 1x1 conv of the 1/16 map to
 * `hidden` channels, flattened to N = (S/16)^2 tokens plus a learned position embedding; L
 * pre-norm transformer layers; final layer norm; tokens reshaped back to the 1/16 map and
 * projected by a 3x3 conv-BN-ReLU ("conv_more"). Cascaded upsampler: four stages of x2
 * nearest upsampling, concat with the skip of that scale (none at full resolution), two 3x3
 * conv-BN-ReLU. Head: 1x1 conv + sigmoid.
 */
import * as tf from '@tensorflow/tfjs';
import type { SegNetSizes } from '@mrlseg/types';
import { apply, checkInputSize, concat, conv, convBnRelu, SeedSequence, upsample, type ST } from './blocks';
import { PositionEmbedding, TransformerBlock } from './layers/custom-layers';
import { rememberSpec } from './model-spec';

export interface BuildOptions {
  /** Square input size S (pixels); a multiple of 16. */
  inputSize: number;
  /** Seed of every initialiser (default 0): same seed, same weights. */
  seed?: number;
}

export function validateSizes(fn: string, s: SegNetSizes): void {
  const bad = (what: string) => {
    throw new Error(`${fn}: sizes.${what}`);
  };
  if (!Array.isArray(s.channels) || s.channels.length !== 4 || s.channels.some((c) => !Number.isInteger(c) || c <= 0)) bad(`channels must be 4 positive integers, got ${JSON.stringify(s.channels)}`);
  if (!Array.isArray(s.decoderChannels) || s.decoderChannels.length !== 4 || s.decoderChannels.some((c) => !Number.isInteger(c) || c <= 0)) bad(`decoderChannels must be 4 positive integers, got ${JSON.stringify(s.decoderChannels)}`);
  for (const k of ['hidden', 'layers', 'heads', 'mlp'] as const) if (!Number.isInteger(s[k]) || s[k] <= 0) bad(`${k} must be a positive integer, got ${s[k]}`);
  if (s.hidden % s.heads !== 0) bad(`hidden (${s.hidden}) must be divisible by heads (${s.heads})`);
}

/**
 * The shared feature extractor: stem + three conv blocks + patch embedding + position embedding
 * + `layers` transformer layers. Layer names are identical in both networks so
 * {@link initFromSegmentationNet} can match them.
 */
export function hybridEncoder(input: ST, sizes: SegNetSizes, layers: number, seeds: SeedSequence): { skips: ST[]; tokens: ST; grid: number } {
  const [c0, c1, c2, c3] = sizes.channels;
  const size = input.shape[1] as number;
  let x = convBnRelu(input, c0, 'stem_1', seeds, { stride: 2 });
  x = convBnRelu(x, c0, 'stem_2', seeds);
  const skips = [x];
  const widths = [c1, c2, c3];
  for (let i = 0; i < 3; i++) {
    x = convBnRelu(x, widths[i], `enc${i + 1}_1`, seeds, { stride: 2 });
    x = convBnRelu(x, widths[i], `enc${i + 1}_2`, seeds);
    if (i < 2) skips.push(x);
  }
  const grid = size / 16;
  // Patch embedding of the 1/16 map: 1x1 patches (TransUNet), i.e. a 1x1 conv to `hidden`.
  x = conv(x, sizes.hidden, 'patch_embed', seeds, { kernel: 1 });
  let t = apply(tf.layers.reshape({ targetShape: [grid * grid, sizes.hidden], name: 'to_tokens' }), x);
  t = apply(new PositionEmbedding({ name: 'pos_embed', seed: seeds.take() }), t);
  for (let l = 0; l < layers; l++) {
    const seed = seeds.take() * 16;
    t = apply(new TransformerBlock({ name: `transformer_${l}`, heads: sizes.heads, mlp: sizes.mlp, epsilon: 1e-6, seed }), t);
  }
  return { skips, tokens: t, grid };
}

/** Builds the Segmentation-Net (see the file comment) for `sizes` (e.g. SEG_NET_PRESETS.cpu). */
export function buildSegmentationNet(sizes: SegNetSizes, opts: BuildOptions): tf.LayersModel {
  validateSizes('buildSegmentationNet', sizes);
  checkInputSize('buildSegmentationNet', opts.inputSize, 16);
  const seed = opts.seed ?? 0;
  const seeds = new SeedSequence(seed);
  const input = tf.input({ shape: [opts.inputSize, opts.inputSize, 1], name: 'image' });
  const { skips, tokens, grid } = hybridEncoder(input, sizes, sizes.layers, seeds);
  const normed = apply(tf.layers.layerNormalization({ axis: -1, epsilon: 1e-6, name: 'encoder_norm' }), tokens);
  let x = apply(tf.layers.reshape({ targetShape: [grid, grid, sizes.hidden], name: 'to_map' }), normed);
  x = convBnRelu(x, sizes.channels[3], 'conv_more', seeds);
  for (let i = 0; i < 4; i++) {
    x = upsample(x, 2, `dec${i + 1}_up`);
    const skip = skips[2 - i];
    if (skip) x = concat([x, skip], `dec${i + 1}_concat`);
    x = convBnRelu(x, sizes.decoderChannels[i], `dec${i + 1}_1`, seeds);
    x = convBnRelu(x, sizes.decoderChannels[i], `dec${i + 1}_2`, seeds);
  }
  const out = conv(x, 1, 'probabilities', seeds, { kernel: 1, activation: 'sigmoid' });
  const model = tf.model({ inputs: input, outputs: out, name: 'segmentation_net' });
  rememberSpec(model, { kind: 'seg-net', sizes: structuredClone(sizes), inputSize: opts.inputSize, seed });
  return model;
}
