/**
 * Building blocks shared by the networks: seeded initialisers (a fresh model is a pure function
 * of its sizes and seed) and the conv + batch-norm + ReLU unit. All tensors are NHWC.
 */
import * as tf from '@tensorflow/tfjs';

export type ST = tf.SymbolicTensor;

/** Hands out consecutive seeds from `seed` so every initialiser is seeded and distinct. */
export class SeedSequence {
  private next: number;
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`SeedSequence: seed must be an integer, got ${seed}`);
    this.next = seed * 1000;
  }
  take(): number {
    return this.next++;
  }
}

export const apply = (layer: tf.layers.Layer, x: ST | ST[]): ST => layer.apply(x) as ST;

/** 3x3 (or k x k) 'same' convolution without bias, then batch norm and ReLU. */
export function convBnRelu(x: ST, filters: number, name: string, seeds: SeedSequence, opts: { kernel?: number; stride?: number; relu?: boolean } = {}): ST {
  const k = opts.kernel ?? 3;
  let y = apply(
    tf.layers.conv2d({
      filters,
      kernelSize: k,
      strides: opts.stride ?? 1,
      padding: 'same',
      useBias: false,
      kernelInitializer: tf.initializers.heNormal({ seed: seeds.take() }),
      name: `${name}_conv`,
    }),
    x,
  );
  y = apply(tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name: `${name}_bn` }), y);
  if (opts.relu ?? true) y = apply(tf.layers.activation({ activation: 'relu', name: `${name}_relu` }), y);
  return y;
}

/** Plain 'same' convolution with bias and an activation. */
export function conv(x: ST, filters: number, name: string, seeds: SeedSequence, opts: { kernel?: number; activation?: 'relu' | 'sigmoid' | 'softmax' | 'linear' } = {}): ST {
  const activation = opts.activation ?? 'linear';
  return apply(
    tf.layers.conv2d({
      filters,
      kernelSize: opts.kernel ?? 3,
      padding: 'same',
      useBias: true,
      activation,
      kernelInitializer: activation === 'relu' ? tf.initializers.heNormal({ seed: seeds.take() }) : tf.initializers.glorotUniform({ seed: seeds.take() }),
      name,
    }),
    x,
  );
}

export const upsample = (x: ST, factor: number, name: string): ST =>
  apply(tf.layers.upSampling2d({ size: [factor, factor], interpolation: 'nearest', name }), x);

export const concat = (xs: ST[], name: string): ST => apply(tf.layers.concatenate({ axis: -1, name }), xs);

export function checkInputSize(fn: string, size: number, multiple: number): void {
  if (!Number.isInteger(size) || size < multiple || size % multiple !== 0) {
    throw new Error(`${fn}: inputSize must be a positive multiple of ${multiple}, got ${size}`);
  }
}
