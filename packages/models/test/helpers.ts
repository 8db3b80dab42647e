import * as tf from '@tensorflow/tfjs';
import type { SegNetSizes } from '@mrlseg/types';

/** A tiny Segmentation-Net configuration that keeps the tests fast on 2 cores. */
export const TINY: SegNetSizes = { channels: [4, 8, 8, 16], hidden: 16, layers: 2, heads: 2, mlp: 32, decoderChannels: [8, 8, 4, 4] };

/** Deterministic uniform values in [lo, hi) (xorshift32), independent of the backend. */
export function seeded(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = lo + ((s >>> 0) / 4294967296) * (hi - lo);
  }
  return out;
}

/** Sets every batch-norm layer's gamma, beta, moving mean and variance to non-trivial values. */
export function randomiseBatchNorm(model: tf.LayersModel, seed: number): void {
  let k = seed;
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const ws = l.getWeights();
    const c = ws[0].shape[0];
    l.setWeights([
      tf.tensor1d(seeded(c, k++, 0.5, 1.5)),
      tf.tensor1d(seeded(c, k++, -0.2, 0.2)),
      tf.tensor1d(seeded(c, k++, -0.2, 0.2)),
      tf.tensor1d(seeded(c, k++, 0.5, 2)),
    ]);
  }
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};
