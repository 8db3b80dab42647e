/**
 * Baselines of the paper's comparison (METHOD-NOTES "Baselines"): U-Net (Ronneberger et al.
 * 2015) and ResU-Net (residual U-Net, Zhang et al. 2018), four 2x2 max-pool levels with widths
 * w, 2w, 4w, 8w and a 16w bottleneck (w = `baseWidth`), batch norm, x2 nearest upsampling with
 * skip concatenation, 1x1 sigmoid head. Input B x S x S x 1 (S a multiple of 16), output
 * B x S x S x 1 lesion probability.
 */
import * as tf from '@tensorflow/tfjs';
import { apply, checkInputSize, concat, conv, convBnRelu, SeedSequence, upsample, type ST } from './blocks';
import { rememberSpec } from './model-spec';

export interface BaselineOptions {
  inputSize: number;
  /** First-level width w (default 16). */
  baseWidth?: number;
  seed?: number;
}

type Block = (x: ST, filters: number, name: string, seeds: SeedSequence) => ST;

const doubleConv: Block = (x, f, name, seeds) => convBnRelu(convBnRelu(x, f, `${name}_1`, seeds), f, `${name}_2`, seeds);

/** Residual unit: conv-BN-ReLU, conv-BN, plus a 1x1 conv-BN projection of the input, then ReLU. */
const residual: Block = (x, f, name, seeds) => {
  const y = convBnRelu(convBnRelu(x, f, `${name}_1`, seeds), f, `${name}_2`, seeds, { relu: false });
  const s = convBnRelu(x, f, `${name}_skip`, seeds, { kernel: 1, relu: false });
  const sum = apply(tf.layers.add({ name: `${name}_add` }), [y, s]);
  return apply(tf.layers.activation({ activation: 'relu', name: `${name}_relu` }), sum);
};

function unetLike(fn: string, block: Block, opts: BaselineOptions, name: string): { model: tf.LayersModel; w: number; seed: number } {
  checkInputSize(fn, opts.inputSize, 16);
  const w = opts.baseWidth ?? 16;
  if (!Number.isInteger(w) || w <= 0) throw new Error(`${fn}: baseWidth must be a positive integer, got ${w}`);
  const seed = opts.seed ?? 0;
  const seeds = new SeedSequence(seed);
  const input = tf.input({ shape: [opts.inputSize, opts.inputSize, 1], name: 'image' });
  const skips: ST[] = [];
  let x: ST = input;
  for (let i = 0; i < 4; i++) {
    x = block(x, w * 2 ** i, `down${i + 1}`, seeds);
    skips.push(x);
    x = apply(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${i + 1}` }), x);
  }
  x = block(x, w * 16, 'bottleneck', seeds);
  for (let i = 3; i >= 0; i--) {
    x = upsample(x, 2, `up${i + 1}_up`);
    x = concat([x, skips[i]], `up${i + 1}_concat`);
    x = block(x, w * 2 ** i, `up${i + 1}`, seeds);
  }
  const out = conv(x, 1, 'probabilities', seeds, { kernel: 1, activation: 'sigmoid' });
  return { model: tf.model({ inputs: input, outputs: out, name }), w, seed };
}

/** Builds a U-Net baseline (see the file comment). */
export function buildUnet(opts: BaselineOptions): tf.LayersModel {
  const { model, w, seed } = unetLike('buildUnet', doubleConv, opts, 'unet');
  rememberSpec(model, { kind: 'unet', baseWidth: w, inputSize: opts.inputSize, seed });
  return model;
}

/** Builds a ResU-Net baseline (see the file comment). */
export function buildResUnet(opts: BaselineOptions): tf.LayersModel {
  const { model, w, seed } = unetLike('buildResUnet', residual, opts, 'resunet');
  rememberSpec(model, { kind: 'resunet', baseWidth: w, inputSize: opts.inputSize, seed });
  return model;
}
